"""examples/notebook.ipynb runs from top to bottom: with Jupyter's nbconvert where it is
installed, else its code cells as one script in one namespace, where a cell's last expression
is rendered as Jupyter would show it (a Diagram as SVG). The notebook's own asserts check its
numbers (the seed's RNN against numpy, the classifier's held-out accuracy)."""
import ast
import json
import os
import shutil
import subprocess
import sys

import pytest

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "notebook.ipynb")


def code_cells():
    with open(NOTEBOOK) as f:
        nb = json.load(f)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_notebook_runs(tmp_path):
    if shutil.which("jupyter") and subprocess.run(
            ["jupyter", "nbconvert", "--version"], capture_output=True).returncode == 0:
        r = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute",
                            "--output-dir", str(tmp_path), NOTEBOOK],
                           capture_output=True, text=True, env=dict(os.environ))
        assert r.returncode == 0, r.stderr[-2000:]
        return
    namespace = {"__name__": "__notebook__"}
    shown = 0
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for source in code_cells():
            tree = ast.parse(source)
            last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if last:
                tree.body.pop()
            exec(compile(tree, "<notebook cell>", "exec"), namespace)
            if last:
                value = eval(compile(ast.Expression(last.value), "<notebook cell>", "eval"),
                             namespace)
                if hasattr(value, "_repr_svg_"):
                    svg = value._repr_svg_()
                    assert "<svg" in svg
                    shown += 1
    finally:
        os.chdir(cwd)
    assert shown == 4  # the four diagrams
