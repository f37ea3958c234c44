"""rnngraph.Model against PyTorch's nn.RNN / nn.LSTM / nn.GRU: outputs, final states and
gradients, for 1 and 2 layers, both directions and padded batches, with the C++ suite's
tolerances (|difference| <= 1e-5 for values, 1e-5 (1 + max |expected|) for gradients; a NaN
fails). The weights go from rnngraph to PyTorch through state_dict(), so the mapping of names
and gate order is checked too."""
import threading

import numpy as np
import pytest
import torch

import rnngraph

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
torch.set_num_threads(1)


def close(got, expected, tolerance, what):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: {got.shape} against {expected.shape}"
    assert np.isfinite(got).all(), f"{what}: not finite"
    worst = np.abs(got - expected).max() if got.size else 0.0
    assert worst <= tolerance, f"{what}: off by {worst} (tolerance {tolerance})"


def torch_twin(m):
    """The PyTorch module with m's weights."""
    t = TORCH[m.cell](m.input_size, m.hidden_size, m.num_layers,
                      bidirectional=m.bidirectional)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    return t


CASES = [(cell, layers, bidirectional)
         for cell in ("rnn", "lstm", "gru") for layers in (1, 2) for bidirectional in (False, True)]


@pytest.mark.parametrize("cell,layers,bidirectional", CASES)
def test_outputs_and_gradients_match_pytorch(cell, layers, bidirectional):
    m = rnngraph.Model(cell=cell, input_size=3, hidden_size=5, num_layers=layers,
                       bidirectional=bidirectional, seed=7)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4, 3)).astype(np.float32)
    directions = 2 if bidirectional else 1
    h0 = rng.standard_normal((layers * directions, 4, 5)).astype(np.float32)
    t = torch_twin(m)
    xt = torch.from_numpy(x).requires_grad_()
    if cell == "lstm":
        c0 = rng.standard_normal(h0.shape).astype(np.float32)
        y, (h_n, c_n) = m(x, h0=h0, c0=c0)
        yt, (ht, ct) = t(xt, (torch.from_numpy(h0), torch.from_numpy(c0)))
        close(c_n, ct.detach(), 1e-5, "c_n")
        grads = m.grad(x, wrt="all", h0=h0, c0=c0)
    else:
        y, h_n = m(x, h0=h0)
        yt, ht = t(xt, torch.from_numpy(h0))
        grads = m.grad(x, wrt="all", h0=h0)
    close(y, yt.detach(), 1e-5, "y")
    close(h_n, ht.detach(), 1e-5, "h_n")
    yt.sum().backward()
    expected = {name: p.grad.numpy() for name, p in t.named_parameters()}
    expected["x"] = xt.grad.numpy()
    for name, value in expected.items():
        close(grads[name], value, 1e-5 * (1 + np.abs(value).max()), "grad " + name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padded_batches_match_packed_sequences(cell):
    m = rnngraph.Model(cell=cell, input_size=2, hidden_size=4, num_layers=2, seed=3)
    t = torch_twin(m)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 2)).astype(np.float32)
    lengths = [5, 2, 4]
    out = m(x, lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), lengths,
                                                     enforce_sorted=False)
    yt, states = t(packed)
    yt, _ = torch.nn.utils.rnn.pad_packed_sequence(yt, total_length=5)
    close(out[0], yt.detach(), 1e-5, "y")
    h_n = out[1][0] if cell == "lstm" else out[1]
    ht = states[0] if cell == "lstm" else states
    close(h_n, ht.detach(), 1e-5, "h_n")


def test_a_projected_lstm_matches_pytorch_proj_size():
    m = rnngraph.Model(cell="lstm", input_size=3, hidden_size=6, num_layers=2, proj_size=2, seed=4)
    t = torch.nn.LSTM(3, 6, 2, proj_size=2)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((4, 3, 3)).astype(np.float32)
    y, (h_n, c_n) = m(x)
    yt, (ht, ct) = t(torch.from_numpy(x))
    assert y.shape == (4, 3, 2) and h_n.shape == (2, 3, 2) and c_n.shape == (2, 3, 6)
    close(y, yt.detach(), 1e-5, "y")
    close(c_n, ct.detach(), 1e-5, "c_n")
    yt.sum().backward()
    grads = m.grad(x)
    for name, p in t.named_parameters():
        g = p.grad.numpy()
        close(grads[name], g, 1e-5 * (1 + np.abs(g).max()), "grad " + name)
    # the backward graph is kept: a second call gives the same, and sees new weights
    again = m.grad(x)
    close(again["weight_hr_l1"], grads["weight_hr_l1"], 0, "a second grad")
    state = m.state_dict()
    state["weight_hr_l1"] = state["weight_hr_l1"] * 2
    m.load_state_dict(state)
    assert np.abs(m.grad(x)["weight_hr_l1"] - grads["weight_hr_l1"]).max() > 1e-4


def test_mse_gradients_and_batch_first():
    m = rnngraph.Model(cell="gru", input_size=3, hidden_size=4, batch_first=True, seed=5)
    t = TORCH["gru"](3, 4, batch_first=True)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)  # [B, T, I]
    target = rng.standard_normal((2, 6, 4)).astype(np.float32)
    y, _ = m(x)
    yt, _ = t(torch.from_numpy(x))
    close(y, yt.detach(), 1e-5, "y")
    ((yt - torch.from_numpy(target)) ** 2).mean().backward()
    grads = m.grad(x, loss="mse", target=target)
    for name, p in t.named_parameters():
        g = p.grad.numpy()
        close(grads[name], g, 1e-5 * (1 + np.abs(g).max()), "grad " + name)


def test_state_dict_round_trip_and_save_load(tmp_path):
    m = rnngraph.Model(cell="lstm", input_size=3, hidden_size=4, num_layers=2, seed=1)
    other = rnngraph.Model(cell="lstm", input_size=3, hidden_size=4, num_layers=2, seed=2)
    x = np.ones((3, 1, 3), np.float32)
    assert np.abs(m(x)[0] - other(x)[0]).max() > 1e-3  # different weights
    other.load_state_dict(m.state_dict())
    close(other(x)[0], m(x)[0], 0, "y after load_state_dict")
    other.load_state_dict(m.state_dict(names="native"))
    m.save(tmp_path / "m.json")
    back = rnngraph.Model.load(tmp_path / "m.json")
    assert (back.cell, back.hidden_size, back.num_layers) == ("lstm", 4, 2)
    close(back(x)[0], m(x)[0], 0, "y after save and load")


def test_inputs_are_converted_and_outputs_own_their_memory():
    m = rnngraph.Model(cell="rnn", input_size=2, hidden_size=3, seed=1)
    x64 = np.arange(12, dtype=np.float64).reshape(2, 3, 2) / 10
    strided = np.asfortranarray(x64.astype(np.float32))
    y64, _ = m(x64)
    y_list, _ = m(x64.tolist())
    y_strided, _ = m(strided)
    close(y64, y_list, 0, "from a list")
    close(y64, y_strided, 0, "from a Fortran-ordered array")
    y_before = y64.copy()
    m(np.zeros((2, 3, 2), np.float32))  # the next run must not change an earlier result
    close(y64, y_before, 0, "an earlier result")
    assert y64.flags.owndata and y64.dtype == np.float32


def test_errors_are_typed_with_rnngraph_messages(tmp_path):
    m = rnngraph.Model(cell="lstm", input_size=3, hidden_size=4)
    with pytest.raises(rnngraph.ShapeError, match=r"\[T, B, 3\], got \[2, 1, 5\]"):
        m(np.zeros((2, 1, 5), np.float32))
    with pytest.raises(rnngraph.ShapeError):
        m(np.zeros((2, 1, 3), np.float32), h0=np.zeros((2, 1, 4), np.float32))
    with pytest.raises(rnngraph.GraphError, match="unknown cell|cell"):
        rnngraph.Model(cell="transformer", input_size=1, hidden_size=1)
    with pytest.raises(rnngraph.FormatError):
        (tmp_path / "bad.json").write_text("{ not json")
        rnngraph.Model.load(str(tmp_path / "bad.json"))
    with pytest.raises(rnngraph.FormatError, match="weight_ih_l0' is \\[16, 1\\]"):
        m.load_state_dict({k: v[..., :1] for k, v in m.state_dict().items()})
    with pytest.raises(rnngraph.ShapeError, match=r"_l0' is \[7, 1\] in the state dict"):
        m.load_state_dict({k: v[..., :1] for k, v in m.state_dict(names="native").items()})
    with pytest.raises(rnngraph.FormatError, match="the state dict has no"):
        m.load_state_dict({})
    with pytest.raises(rnngraph.GraphError):
        m.grad(np.zeros((2, 1, 3), np.float32), loss="mse")  # no target
    assert issubclass(rnngraph.ShapeError, rnngraph.Error)


def test_threads_run_copies_side_by_side():
    m = rnngraph.Model(cell="lstm", input_size=8, hidden_size=32, seed=1)
    x = np.random.default_rng(0).standard_normal((20, 4, 8)).astype(np.float32)
    expected = m(x)[0]
    results = [None] * 4

    def work(i):
        copy = m.copy()
        for _ in range(5):
            results[i] = copy(x)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for r in results:
        close(r, expected, 0, "y from a thread")


def test_the_gil_is_released_while_a_model_runs():
    # While one thread is inside m(x), the main thread keeps running Python, stamping the time
    # in a loop. Were the GIL held through the run, the stamps would stop for all of it: a gap
    # as long as the call. Released, the longest gap is a scheduling slice.
    import time
    m = rnngraph.Model(cell="lstm", input_size=64, hidden_size=256, seed=1)
    # a sequence long enough to tell, on this machine: doubled until a run takes 0.1 s
    x = np.ones((400, 16, 64), np.float32)
    while True:
        start = time.perf_counter()
        m(x)
        if time.perf_counter() - start > 0.1:
            break
        x = np.concatenate([x, x])
    span = {}

    def run():
        span["start"] = time.perf_counter()
        m(x)
        span["end"] = time.perf_counter()

    thread = threading.Thread(target=run)
    stamps = []
    thread.start()
    while thread.is_alive():
        stamps.append(time.perf_counter())
    thread.join()
    duration = span["end"] - span["start"]
    assert duration > 0.05, "the run was too short to tell"
    during = [t for t in stamps if span["start"] <= t <= span["end"]]
    gap = max(b - a for a, b in zip([span["start"]] + during, during + [span["end"]]))
    assert gap < duration / 2, f"the main thread stopped for {gap:.3f} s of a {duration:.3f} s call"


def test_diagrams_render_inline_and_save(tmp_path):
    m = rnngraph.Model(cell="gru", input_size=2, hidden_size=3, num_layers=2)
    d = m.diagram(view="blocks", steps=3, title="a GRU")
    svg = d._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "a GRU" in svg
    for extension in ("svg", "png", "pdf", "dot"):
        path = d.save(tmp_path / f"g.{extension}")
        assert path.stat().st_size > 100
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    unrolled = m.diagram(view="unrolled", steps=2, grad=True)
    assert "backward" in unrolled.dot
    with pytest.raises(rnngraph.Error):
        m.diagram(view="sideways")
