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
# An int8 tensor with its scale per column, a bf16 one and an F32 one (what quantized model files
# hold).
/usr/bin/python3 - "$out/safetensors/int8_bf16.safetensors" <<'PY'
import json, struct, sys
items = {"W": ("I8", [2, 3], bytes([127, 1, 0, 0x81, 0xff, 5])),
         "W.scale": ("F32", [3], struct.pack("<3f", 0.02, 0.5, 0.0)),
         "b": ("BF16", [2], struct.pack("<2H", 0x3f80, 0xc000)),
         "c": ("F32", [1], struct.pack("<f", 1.5))}
header, data = {}, b""
for name in sorted(items):
    dtype, shape, raw = items[name]
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + data)
PY

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

# Marks and a reverse direction (what models::build records for the diagrams).
cat > "$out/graph_file/marked.json" <<'JSON'
{"format": "rnngraph.graph", "version": 1, "parameters": "g.safetensors",
 "nodes": [{"id": 0, "kind": "input", "name": "x", "scope": "", "shape": [2, 3],
            "mark": {"kind": "step_input", "role": "x"}},
           {"id": 1, "kind": "parameter", "name": "W", "scope": "", "shape": [3, 4],
            "mark": {"kind": "weight", "role": "W", "label": "gate"}},
           {"id": 2, "kind": "op", "op": "matmul", "name": "matmul_2", "scope": "step0/reverse",
            "step": 0, "reverse": true, "inputs": [0, 1], "attrs": {}, "shape": [2, 4]},
           {"id": 3, "kind": "op", "op": "tanh", "name": "tanh_3", "scope": "step0/reverse",
            "step": 0, "reverse": true, "inputs": [2], "attrs": {}, "shape": [2, 4],
            "mark": {"kind": "state", "role": "h", "slot": 1, "label": "RNN"}}],
 "outputs": [{"name": "y", "node": 3}]}
JSON

# A model of a cell that is not built in (an LSTM under another name, on the same weights): its
# recipe and the stored step graph the reader replays.
cat > "$out/graph_file/stored_cell.json" <<'JSON'
{"format":"rnngraph.graph","graphs":{"cell_step_input3":{"nodes":[{"id":0,"kind":"input","name":"x","scope":"","shape":[1,3]},{"id":1,"kind":"input","name":"h","scope":"","shape":[1,4]},{"id":2,"kind":"input","name":"c","scope":"","shape":[1,4]},{"id":3,"kind":"parameter","name":"W_f","scope":"","shape":[7,4]},{"id":4,"kind":"parameter","name":"W_i","scope":"","shape":[7,4]},{"id":5,"kind":"parameter","name":"W_o","scope":"","shape":[7,4]},{"id":6,"kind":"parameter","name":"W_c","scope":"","shape":[7,4]},{"id":7,"kind":"parameter","name":"b_f","scope":"","shape":[1,4]},{"id":8,"kind":"parameter","name":"b_i","scope":"","shape":[1,4]},{"id":9,"kind":"parameter","name":"b_o","scope":"","shape":[1,4]},{"id":10,"kind":"parameter","name":"b_c","scope":"","shape":[1,4]},{"attrs":{"axis":1},"id":11,"inputs":[1,0],"kind":"op","name":"concat_11","op":"concat","scope":"","shape":[1,7]},{"attrs":{},"id":12,"inputs":[11,3],"kind":"op","name":"matmul_12","op":"matmul","scope":"","shape":[1,4]},{"attrs":{},"id":13,"inputs":[12,7],"kind":"op","name":"add_13","op":"add","scope":"","shape":[1,4]},{"attrs":{},"id":14,"inputs":[13],"kind":"op","name":"sigmoid_14","op":"sigmoid","scope":"","shape":[1,4]},{"attrs":{},"id":15,"inputs":[11,4],"kind":"op","name":"matmul_15","op":"matmul","scope":"","shape":[1,4]},{"attrs":{},"id":16,"inputs":[15,8],"kind":"op","name":"add_16","op":"add","scope":"","shape":[1,4]},{"attrs":{},"id":17,"inputs":[16],"kind":"op","name":"sigmoid_17","op":"sigmoid","scope":"","shape":[1,4]},{"attrs":{},"id":18,"inputs":[11,5],"kind":"op","name":"matmul_18","op":"matmul","scope":"","shape":[1,4]},{"attrs":{},"id":19,"inputs":[18,9],"kind":"op","name":"add_19","op":"add","scope":"","shape":[1,4]},{"attrs":{},"id":20,"inputs":[19],"kind":"op","name":"sigmoid_20","op":"sigmoid","scope":"","shape":[1,4]},{"attrs":{},"id":21,"inputs":[11,6],"kind":"op","name":"matmul_21","op":"matmul","scope":"","shape":[1,4]},{"attrs":{},"id":22,"inputs":[21,10],"kind":"op","name":"add_22","op":"add","scope":"","shape":[1,4]},{"attrs":{},"id":23,"inputs":[22],"kind":"op","name":"tanh_23","op":"tanh","scope":"","shape":[1,4]},{"attrs":{},"id":24,"inputs":[17,23],"kind":"op","name":"mul_24","op":"mul","scope":"","shape":[1,4]},{"attrs":{},"id":25,"inputs":[14,2],"kind":"op","name":"mul_25","op":"mul","scope":"","shape":[1,4]},{"attrs":{},"id":26,"inputs":[25,24],"kind":"op","name":"add_26","op":"add","scope":"","shape":[1,4]},{"attrs":{},"id":27,"inputs":[26],"kind":"op","name":"tanh_27","op":"tanh","scope":"","shape":[1,4]},{"attrs":{},"id":28,"inputs":[20,27],"kind":"op","name":"mul_28","op":"mul","scope":"","shape":[1,4]}],"outputs":[{"name":"h","node":28},{"name":"c","node":26}]}},"meta":{"batch":"1","cell":"fuzzcell","hidden_size":"4","input_size":"3","layers":"1","seed":"0","steps":"1"},"parameters":"g.safetensors","recipe":true,"version":1}
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
