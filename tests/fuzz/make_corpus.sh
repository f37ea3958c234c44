#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ from the test
# fixtures and a Release build's rnngraph (default build/rnngraph). Small, valid inputs of each
# format: libFuzzer mutates them, so the readers' deep paths are reached quickly.
#   tests/fuzz/make_corpus.sh [path/to/rnngraph]
set -euo pipefail
cd "$(dirname "$0")/../.."
cli=${1:-build/rnngraph}
out=tests/fuzz/corpus
fixtures=tests/fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"/{npy,safetensors,csv,graph_file,checkpoint,onnx_import,cli_args}

cp $fixtures/seed_rnn_seed_x.npy $fixtures/seed_rnn_batch_h0.npy $fixtures/torch_rnn_L1_B3_y.npy "$out/npy/"
/usr/bin/python3 - "$out/npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1] + "/lengths_i4.npy", np.array([3, 1, 2], dtype="<i4"))
np.save(sys.argv[1] + "/lengths_i8.npy", np.array([5, 2], dtype="<i8"))
np.save(sys.argv[1] + "/lengths_f8.npy", np.array([4.0], dtype="<f8"))
PY

cp $fixtures/torch_rnn_L1_B1.safetensors $fixtures/torch_seq_gru_L1.safetensors "$out/safetensors/"

printf '0.5,1.5\n-2,3e-2\n' > "$out/csv/two_columns.csv"
printf '1\n2\n3\n' > "$out/csv/one_column.csv"
printf 'x,y\n1,2\n' > "$out/csv/header.csv"

(cd "$work" && "$OLDPWD/$cli" build lstm --input-size 3 --hidden-size 4 --layers 2 -o recipe.json > /dev/null)
cp "$work/recipe.json" "$out/graph_file/recipe.json"
# A node-by-node graph on the target's fixed weights (W [3, 4]).
cat > "$out/graph_file/nodes.json" <<'JSON'
{"format": "rnngraph.graph", "version": 1, "parameters": "g.safetensors",
 "nodes": [{"id": 0, "kind": "input", "name": "x", "scope": "", "shape": [2, 3]},
           {"id": 1, "kind": "parameter", "name": "W", "scope": "", "shape": [3, 4]},
           {"id": 2, "kind": "op", "op": "matmul", "name": "matmul_2", "scope": "step0", "step": 0,
            "inputs": [0, 1], "attrs": {}, "shape": [2, 4]},
           {"id": 3, "kind": "op", "op": "tanh", "name": "tanh_3", "scope": "step0", "step": 0,
            "inputs": [2], "attrs": {}, "shape": [2, 4]}],
 "outputs": [{"name": "y", "node": 3}]}
JSON

# Checkpoints: two bytes of JSON length, the JSON, then its safetensors file.
(cd "$work" && "$OLDPWD/$cli" train --task sine --model gru --hidden-size 3 --steps 4 --batch 2 \
  --iterations 2 --save ck.json > /dev/null 2>&1)
/usr/bin/python3 - "$work/ck.json" "$work/ck.safetensors" "$out/checkpoint/sine_gru" <<'PY'
import sys
j = open(sys.argv[1], "rb").read(); s = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(len(j).to_bytes(2, "little") + j + s)
PY

cp $fixtures/torch_onnx_lstm_L1.onnx $fixtures/torch_onnx_gru_L1.onnx $fixtures/torch_onnx_rnn_L2.onnx "$out/onnx_import/"
(cd "$work" && "$OLDPWD/$cli" build gru --input-size 2 --hidden-size 3 --bidirectional -o bi.json > /dev/null &&
  "$OLDPWD/$cli" export bi.json -o bi.onnx --lengths > /dev/null)
cp "$work/bi.onnx" "$out/onnx_import/ours_gru_bi.onnx"

/usr/bin/python3 - "$out/cli_args" <<'PY'
import sys
cases = {"build": ["lstm", "--input-size", "3", "--hidden-size", "4", "--steps", "10", "-o", "g.json"],
         "build_inline": ["gru", "--input-size=3", "--hidden-size=8", "--layers", "2", "--bidirectional",
                          "--max-memory", "512M"],
         "numbers": ["rnn", "--lr", "1e-3", "--batch", "4", "--lengths"]}
for name, args in cases.items():
    open(f"{sys.argv[1]}/{name}", "wb").write("\0".join(args).encode())
PY
du -sh "$out"/*
