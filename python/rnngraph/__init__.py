"""rnngraph from Python: recurrent models in PyTorch's shapes and names, run on rnngraph's CPU
kernels, their gradients, and their diagrams, on numpy arrays.

    import numpy as np, rnngraph
    m = rnngraph.Model(cell="lstm", input_size=3, hidden_size=8, num_layers=2)
    y, (h_n, c_n) = m(np.zeros((5, 2, 3), np.float32))   # x [T, B, I], as nn.LSTM
    grads = m.grad(x, loss="sum")                         # {"weight_ih_l0": ..., ...}
    m.diagram(view="blocks", steps=4)                     # shown inline in Jupyter

The graph API builds graphs of your own, the seed's RNN for one:

    g = rnngraph.Graph()
    x = g.input("x", [3, 1, 2]); h = g.input("h0", [1, 5])
    W = g.parameter("W", w); b = g.parameter("b", np.zeros((1, 5), np.float32))
    for t in range(3):
        with g.step(t):
            h = rnngraph.tanh(rnngraph.concat([h, x[t]], axis=1) @ W + b)
    g.output("h", h)
    dW, = rnngraph.grad(rnngraph.sum(h), [W]); g.output("dW", dW)
    rnngraph.Executor(g)({"x": x_np, "h0": h0_np})       # {"h": ..., "dW": ...}

Errors raise rnngraph.Error and its kinds: ShapeError, GraphError, FormatError, NumericError,
MemoryLimitError, each with rnngraph's one-line message.
"""
import os as _os

from . import _rnngraph

from ._rnngraph import (CellSizes, Error, Executor, FormatError, Graph, GraphError, MemoryLimitError,
                        Model, NumericError, ShapeError, Value, concat, exp, log,
                        matmul, mean, render, reshape, sigmoid, slice, softmax, stack, sum,
                        tanh, write_dot, registered_cells)

__all__ = ["Model", "train", "register_cell", "registered_cells", "CellSizes", "Graph", "Value", "Executor", "Diagram", "grad", "concat", "stack",
           "matmul", "tanh", "sigmoid", "exp", "log", "sum", "mean", "softmax", "slice",
           "reshape", "Error", "ShapeError", "GraphError", "FormatError", "NumericError",
           "MemoryLimitError", "render"]


class Diagram:
    """A Graphviz diagram: shown inline by Jupyter (SVG), written by save() as .dot, .svg,
    .png or .pdf. `dot` is its DOT text."""

    def __init__(self, dot):
        self.dot = dot

    def _repr_svg_(self):
        return render(self.dot, "svg").decode("utf-8")

    def svg(self):
        return self._repr_svg_()

    def png(self):
        return render(self.dot, "png")

    def save(self, path):
        write_dot(self.dot, _os.fspath(path))
        return path


def _diagram(self, view="blocks", steps=4, grad=False, title="", steps_shown=4):
    """The model unrolled for `steps` steps, drawn in `view`: blocks, unrolled, rolled, cell
    or gradflow-free views as `rnngraph dot` draws them; grad=True adds the backward graph
    (unrolled and rolled views)."""
    return Diagram(self._dot(view, steps, grad, title, steps_shown))


Model.diagram = _diagram


def _graph_diagram(self, view="auto", grad=False, title="", steps_shown=4):
    """The graph drawn in `view` (auto: blocks for a graph unrolled over steps, else
    unrolled), as `rnngraph dot` draws a graph file."""
    return Diagram(self._dot(view, grad, title, steps_shown))


Graph.diagram = _graph_diagram


def grad(*args):
    """grad(loss, wrt) or grad(g, loss, wrt): appends the backward graph of `loss` (a [1]
    Value) to its graph and returns [∂loss/∂v for v in wrt]; wrt holds Values, or with a graph
    given, names of its nodes too ("W")."""
    if len(args) == 3:
        g, loss, wrt = args
        if isinstance(loss, str):
            loss = g.value(loss)
        wrt = [g.value(v) if isinstance(v, str) else v for v in wrt]
    elif len(args) == 2:
        loss, wrt = args
    else:
        raise TypeError("grad(loss, wrt) or grad(g, loss, wrt)")
    return _rnngraph.grad(loss, list(wrt))


def register_cell(name, step, parameters, state=("h",), label=""):
    """Registers a recurrent cell written with the graph API, like a C++ one (models::
    register_cell): Model(cell=name, ...) then builds it, any layers, lengths and output layer,
    and runs, differentiates, trains, saves (the model file stores its one-step graph) and draws
    it.

    step(previous, x, w) -> the next state: previous is the list of state Values [B, size], x
    the step's input [B, input], w the layer's parameters by role; returns a Value (one state)
    or a list in the order of `state`.
    parameters(sizes) -> {role: shape}, sizes a CellSizes (input, hidden); each role becomes a
    parameter "<role>_l<k>" per layer, initialised as PyTorch's RNNs are.
    state: the state's names, each of the hidden size (the first is h, what the cell hands on),
    or a function of sizes giving [(name, size)]."""
    names = state
    state_fn = state if callable(state) else (lambda s: [(n, s.hidden) for n in names])
    _rnngraph._register_cell(name, state_fn, parameters, step, label)


def train(model, data, targets, lengths=None, validation=None, epochs=10, batch_size=32,
          lr=0.003, optimizer="adam", momentum=0.0, weight_decay=0.0, clip=0.0, dropout=0.0,
          recurrent_dropout=0.0, seed=0, schedule="constant", gamma=0.1, every=10, warmup=0,
          on_epoch=None):
    """Trains `model` on samples, as `rnngraph train --data X.npy --targets Y.npy --model M`
    does, and gives it the trained weights (in place; it gains the output layer the targets need
    if it has none). data: x [N, T, I] features or [N, T] token ids (integers); targets: [N] or
    [N, T] class ids (integers: softmax cross-entropy) or [N, O] or [N, T, O] values (floats:
    mean squared error), on each sample's last valid step or every step; lengths: [N] for
    samples shorter than T; validation: (x, targets) or (x, targets, lengths), scored after
    every epoch. The options are the CLI's: optimizer "adam" or "sgd" (momentum), weight_decay,
    clip (the largest gradient norm), dropout and recurrent_dropout, and the learning rate's
    schedule: "constant", "step" (times gamma every `every` epochs), "cosine" or "plateau"
    (times gamma after `every` epochs without a better validation loss), after `warmup`
    iterations rising to lr. Returns the history: a dict per epoch with epoch, loss (the
    epoch's mean training loss), lr (the rate the epoch began with), and val_loss and val_accuracy (classes) with a validation
    set. on_epoch(record) is called with each epoch's dict as it ends; returning False stops
    training there (the model keeps the weights reached)."""
    return model._train(data, targets, lengths, validation, epochs, batch_size, lr, optimizer,
                        momentum, weight_decay, clip, dropout, recurrent_dropout, seed,
                        schedule, gamma, every, warmup, on_epoch)
