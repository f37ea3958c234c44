#!/usr/bin/env bash
# Runs every ```sh and ```python block of README.md in order, in a fresh folder, as a reader
# does after `make demo`: `rnngraph` on the PATH, `build/`, `tests/` and `examples/` where a
# clone has them, Debian's python3. Lines that run `make` are the reader's set-up (the quick
# start, make serve-deps), already done by the build that runs this. A block that fails stops
# the run with its README line. Exit code 77 (a skip) when numpy, torch, sklearn, node or
# onnxruntime-node is missing, which CI counts as a failure.
# usage: readme_commands.sh README.md SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
readme=$1 source=$2 build=$3 work=$4

missing=()
/usr/bin/python3 -c "import numpy, torch, sklearn" 2>/dev/null || missing+=("python3-numpy/torch/sklearn")
command -v node >/dev/null || missing+=("node")
[ -d "$source/tests/onnx/node_modules/onnxruntime-node" ] || missing+=("onnxruntime-node (make serve-deps)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "${CI:-}" ] && [ "$CI" != false ]; then
    echo "FAILED: missing ${missing[*]}; under CI a skip is a failure"
    exit 1
  fi
  echo "SKIPPED: missing ${missing[*]}"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work"
cd "$work"
ln -s "$build" build
ln -s "$source/tests" tests
ln -s "$source/examples" examples
export PATH="$build:/usr/bin:$PATH"
# The Python module where `make python` (or `make test`) built it, as the README has readers set
# it; trees built with sanitizers have none, and skip the blocks that import it.
export PYTHONPATH="$build/python"
python_module=$([ -f "$build/python/rnngraph/__init__.py" ] && echo yes || echo no)
export OMPI_MCA_plm_rsh_agent=  # mpirun on this machine only, without ssh

# Each block to its own file, named by its README line: 0026.sh, 0112.py, ...
awk -v dir="$work" '
  /^```(sh|python)$/ { kind = substr($0, 4); file = sprintf("%s/%04d.%s", dir, NR, kind == "python" ? "py" : "sh"); next }
  /^```/ { file = ""; next }
  file != "" { print > file }
' "$readme"

ran=0
for block in $(ls "$work" | grep -E '^[0-9]{4}\.(sh|py)$' | sort); do
  line=$((10#${block%%.*}))
  echo "== README.md line $line"
  if [[ $python_module == no ]] &&
     { [[ $block == *.py ]] && grep -qw "rnngraph" "$work/$block" ||
       grep -q "PYTHONPATH=build/python" "$work/$block"; }; then
    echo "(skipped: this tree has no Python module)"
    continue
  fi
  if [[ $block == *.py ]]; then
    cat "$work/$block"
    /usr/bin/python3 "$work/$block" || { echo "FAILED: the python block at README.md line $line"; exit 1; }
  else
    # The reader's set-up is done; as root, mpirun needs leave to run (the README says so).
    # Under ASan, no leak check in MPI's processes: Open MPI's plugins keep allocations to the
    # end and are unloaded before LeakSanitizer runs, so it cannot name them for a suppression
    # (as in the distributed suite).
    sed -E -e '/^make /d' \
      -e "s/^mpirun /ASAN_OPTIONS=detect_leaks=0 mpirun $([ "$(id -u)" -eq 0 ] && echo '--allow-run-as-root --oversubscribe ')/" \
      "$work/$block" > "$work/$block.run"
    cat "$work/$block.run"
    bash -e -o pipefail "$work/$block.run" || { echo "FAILED: the sh block at README.md line $line"; exit 1; }
  fi
  ran=$((ran + 1))
done
echo "ran $ran README blocks"
