"""The graph API against the seed's numpy RNN (its step_forward and forward, copied below as
the tutorial writes them): the unrolled graph's h_T, and the gradients grad() appends against
central finite differences of the numpy forward in float64."""
import numpy as np
import pytest

import rnngraph


# The seed's numpy implementation (../shared/seed), unchanged but for float64.
def step_forward(x, h, s, w, b):
    concated = np.concatenate([h, x], axis=-1)
    mul_add = np.dot(concated, w) + b
    return np.tanh(mul_add)


def forward(x, h, s, w, b):
    for t in range(len(x)):
        xt = np.reshape(x[t, :], (1, -1))
        if t == 0:
            ht = h
        ht = step_forward(xt, ht, s, w, b)
    return ht


S, FEATURES, STEPS = 5, 2, 3


def seed_rnn_graph(w, b):
    g = rnngraph.Graph()
    x = g.input("x", [STEPS, 1, FEATURES])
    h = g.input("h0", [1, S])
    W = g.parameter("W", w)
    B = g.parameter("b", b)
    for t in range(STEPS):
        with g.step(t):
            h = rnngraph.tanh(rnngraph.concat([h, x[t]], axis=1) @ W + B)
    g.output("h", h)
    return g, W, B, h


def test_unrolled_graph_equals_the_seed_forward():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS, FEATURES))
    h0 = rng.standard_normal((1, S))
    w = rng.standard_normal((S + FEATURES, S))
    b = rng.standard_normal((1, S)) * 0.1
    g, *_ = seed_rnn_graph(w.astype(np.float32), b.astype(np.float32))
    out = rnngraph.Executor(g)({"x": x.reshape(STEPS, 1, FEATURES), "h0": h0})
    expected = forward(x, h0, S, w, b)
    assert np.isfinite(out["h"]).all()
    # float32 through 3 steps of tanh: measured 1e-7, held to 1e-5
    assert np.abs(out["h"] - expected).max() <= 1e-5


def test_grad_matches_finite_differences_of_the_seed():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((STEPS, FEATURES))
    h0 = rng.standard_normal((1, S)) * 0.5
    w = rng.standard_normal((S + FEATURES, S)) * 0.5
    b = rng.standard_normal((1, S)) * 0.1
    g, W, B, h = seed_rnn_graph(w.astype(np.float32), b.astype(np.float32))
    dW, dB = rnngraph.grad(rnngraph.sum(h), [W, B])
    g.output("dW", dW)
    g.output("db", dB)
    out = rnngraph.Executor(g, ["dW", "db"])({"x": x.reshape(STEPS, 1, FEATURES), "h0": h0})
    eps = 1e-6
    for name, param in (("dW", w), ("db", b)):
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            up, down = param.copy(), param.copy()
            up[i] += eps
            down[i] -= eps
            args = (up, b) if name == "dW" else (w, up)
            args_down = (down, b) if name == "dW" else (w, down)
            numeric[i] = (forward(x, h0, S, *args).sum()
                          - forward(x, h0, S, *args_down).sum()) / (2 * eps)
        # float32 gradients against float64 differences: measured 2e-7, held to 1e-5
        assert np.abs(out[name] - numeric).max() <= 1e-5 * (1 + np.abs(numeric).max()), name


def test_grad_takes_the_graph_and_names_too():
    def build():
        g = rnngraph.Graph()
        a = g.input("a", [2, 3])
        w = g.parameter("w", np.full((3, 1), 0.5, np.float32))
        return g, a, w, rnngraph.sum(rnngraph.tanh(a @ w))

    av = np.arange(6, dtype=np.float32).reshape(2, 3) / 10
    z = av @ np.full((3, 1), 0.5)
    g, a, w, loss = build()
    dw, = rnngraph.grad(loss, [w])
    g.output("dw", dw)
    by_value = rnngraph.Executor(g)({"a": av})["dw"]
    g, a, w, loss = build()
    dw, da = rnngraph.grad(g, loss, ["w", a])
    g.output("dw", dw)
    g.output("da", da)
    out = rnngraph.Executor(g)({"a": av})
    np.testing.assert_allclose(by_value, av.T @ (1 - np.tanh(z) ** 2), rtol=1e-5)
    np.testing.assert_array_equal(out["dw"], by_value)
    np.testing.assert_allclose(out["da"], (1 - np.tanh(z) ** 2) @ np.full((1, 3), 0.5), rtol=1e-5)


def test_operators_and_errors():
    g = rnngraph.Graph()
    a = g.input("a", [2, 3])
    c = g.parameter("c", np.full((2, 3), 2.0, np.float32))
    expr = (1 - a) * c / 4 + a - (-a)
    g.output("e", expr)
    g.output("t", rnngraph.sum(rnngraph.stack([a, c]), axis=0))
    av = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = rnngraph.Executor(g)({"a": av})
    assert np.allclose(out["e"], (1 - av) * 2 / 4 + av + av)
    assert np.allclose(out["t"], av + 2)
    assert expr.shape == [2, 3] and g.value("c").name == "c"
    with pytest.raises(rnngraph.ShapeError):
        a @ g.input("b", [4, 4])
    with pytest.raises(rnngraph.GraphError):
        rnngraph.Executor(g)({})  # the feed 'a' is missing
    with pytest.raises(rnngraph.ShapeError):
        rnngraph.Executor(g)({"a": np.zeros((3, 3), np.float32)})
    other = rnngraph.Graph()
    with pytest.raises(rnngraph.GraphError):
        a + other.input("z", [2, 3])


def test_graph_diagrams_group_the_steps():
    rng = np.random.default_rng(2)
    g, W, B, h = seed_rnn_graph(rng.standard_normal((S + FEATURES, S)).astype(np.float32),
                                np.zeros((1, S), np.float32))
    d = g.diagram(view="unrolled", title="the seed's RNN")
    assert d.dot.count("subgraph cluster_step") == STEPS
    assert "the seed" in d._repr_svg_()
