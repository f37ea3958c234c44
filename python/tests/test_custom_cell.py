"""A cell written in Python (the minimal gated unit of Zhou et al. 2016, as
examples/custom_cell.cpp writes it in C++) registered with rnngraph.register_cell and used end
to end: a 2-layer model's outputs and gradients against the same formulas in PyTorch's autograd
with the same weights, a padded batch, saving and loading the model file (which stores the
cell's step graph), and a diagram."""
import numpy as np
import pytest
import torch

import rnngraph


def mgu_step(previous, x, w):
    h = previous[0]
    f = rnngraph.sigmoid(rnngraph.concat([h, x], axis=1) @ w["W_f"] + w["b_f"])
    candidate = rnngraph.tanh(rnngraph.concat([f * h, x], axis=1) @ w["W_h"] + w["b_h"])
    return (1 - f) * h + f * candidate


def mgu_parameters(s):
    return {"W_f": [s.hidden + s.input, s.hidden], "b_f": [1, s.hidden],
            "W_h": [s.hidden + s.input, s.hidden], "b_h": [1, s.hidden]}


if "py_mgu" not in rnngraph.registered_cells():
    rnngraph.register_cell("py_mgu", mgu_step, mgu_parameters, label="MGU")


def torch_mgu(x, h0, weights, layers):
    """The same cell in PyTorch, layer by layer: y and h_n."""
    inputs = x
    finals = []
    for k in range(layers):
        w = {role: weights[f"{role}_l{k}"] for role in ("W_f", "b_f", "W_h", "b_h")}
        h = h0[k]
        outs = []
        for t in range(inputs.shape[0]):
            f = torch.sigmoid(torch.cat([h, inputs[t]], 1) @ w["W_f"] + w["b_f"])
            c = torch.tanh(torch.cat([f * h, inputs[t]], 1) @ w["W_h"] + w["b_h"])
            h = (1 - f) * h + f * c
            outs.append(h)
        inputs = torch.stack(outs)
        finals.append(h)
    return inputs, torch.stack(finals)


def test_a_python_cell_runs_and_differentiates_like_its_pytorch_twin():
    m = rnngraph.Model(cell="py_mgu", input_size=3, hidden_size=4, num_layers=2, seed=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    h0 = rng.standard_normal((2, 2, 4)).astype(np.float32)
    y, h_n = m(x, h0=h0)
    weights = {k: torch.from_numpy(v).requires_grad_()
               for k, v in m.state_dict(names="native").items()}
    assert sorted(weights) == sorted(f"{r}_l{k}" for r in ("W_f", "b_f", "W_h", "b_h")
                                     for k in (0, 1))
    yt, ht = torch_mgu(torch.from_numpy(x), torch.from_numpy(h0), weights, 2)
    assert np.abs(y - yt.detach().numpy()).max() <= 1e-5
    assert np.abs(h_n - ht.detach().numpy()).max() <= 1e-5
    yt.sum().backward()
    grads = m.grad(x, h0=h0, names="native")
    for name, w in weights.items():
        expected = w.grad.numpy()
        assert np.abs(grads[name] - expected).max() <= 1e-5 * (1 + np.abs(expected).max()), name


def test_a_python_cell_model_saves_draws_and_pads(tmp_path):
    m = rnngraph.Model(cell="py_mgu", input_size=2, hidden_size=3, seed=1)
    x = np.random.default_rng(1).standard_normal((4, 2, 2)).astype(np.float32)
    y, _ = m(x, lengths=[4, 2])
    assert np.all(y[2:, 1] == 0)  # past its length a sample's outputs are zero, as packed
    m.save(tmp_path / "mgu.json")
    back = rnngraph.Model.load(tmp_path / "mgu.json")
    assert np.array_equal(back(x)[0], m(x)[0])
    assert "MGU" in m.diagram(view="blocks", steps=2).dot
    with pytest.raises(rnngraph.GraphError):  # a name taken
        rnngraph.register_cell("lstm", mgu_step, mgu_parameters)


def test_a_broken_python_cell_reports_its_error():
    def step(previous, x, w):
        return previous[0] @ w["W"]  # [B, H] · [H + I, H]: shapes disagree

    rnngraph.register_cell("py_broken", step, lambda s: {"W": [s.hidden + s.input, s.hidden]})
    with pytest.raises(rnngraph.ShapeError):
        rnngraph.Model(cell="py_broken", input_size=2, hidden_size=3)(
            np.zeros((2, 1, 2), np.float32))


def test_an_exception_in_a_python_step_reaches_the_caller():
    def step(previous, x, w):
        raise ValueError("this cell is not written yet")

    rnngraph.register_cell("py_raises", step, lambda s: {"W": [s.hidden + s.input, s.hidden]})
    with pytest.raises(ValueError, match="not written yet"):
        rnngraph.Model(cell="py_raises", input_size=2, hidden_size=3)(
            np.zeros((2, 1, 2), np.float32))
