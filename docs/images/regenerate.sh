#!/bin/sh
# Regenerates the README's diagrams with the built CLI: sh docs/images/regenerate.sh [build/rnngraph]
set -eu
cli=$(realpath "${1:-build/rnngraph}")
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$cli" demo --out demo > /dev/null
cp demo/rnn_cell.png demo/lstm_rolled.png demo/rnn_blocks.png demo/gradient_flow.png \
   demo/lstm_cell.png demo/sine_loss.svg "$out/"
"$cli" build lstm --input-size 2 --hidden-size 5 --steps 3 -o lstm.json > /dev/null 2>&1
"$cli" dot lstm.json --view unrolled --title "LSTM (hidden 5, input 2, T = 3): unrolled view" \
  -o "$out/lstm_unrolled.png" > /dev/null 2>&1
"$cli" build lstm --input-size 8 --hidden-size 16 --steps 100 --layers 2 -o lstm2.json > /dev/null 2>&1
"$cli" dot lstm2.json --title "a 2-layer LSTM over 100 steps: block view" -o "$out/lstm_blocks.png" > /dev/null 2>&1
"$cli" build gru --input-size 2 --hidden-size 5 --steps 3 -o gru.json > /dev/null 2>&1
"$cli" dot gru.json --view cell --title "GRU cell" -o "$out/gru_cell.png" > /dev/null 2>&1
"$cli" build rnn --input-size 2 --hidden-size 5 --steps 3 -o rnn.json > /dev/null 2>&1
"$cli" dot rnn.json --view unrolled --grad \
  --title "seed RNN (s = 5, n = 2, T = 3) with the backward graph of sum(y)" \
  -o "$out/rnn_unrolled_grad.png" > /dev/null 2>&1
"$cli" dot rnn.json --view rolled --grad --title "one RNN step and its backward part" \
  -o "$out/rnn_rolled_grad.png" > /dev/null 2>&1
"$cli" build rnn --input-size 2 --hidden-size 5 --steps 1000 --layers 2 -o rnn1000.json > /dev/null 2>&1
"$cli" dot rnn1000.json --view unrolled --title "a 2-layer RNN over 1000 steps, folded" \
  -o "$out/rnn_2layer_1000steps.png" > /dev/null 2>&1
# A cell that is not built in (examples/custom_cell.cpp), drawn from its model file alone.
"$(dirname "$cli")/examples/custom_cell" -o custom > /dev/null 2>&1
"$cli" dot custom/custom.json --steps 4 --title "a user's cell (the minimal gated unit) with an output layer" \
  -o "$out/custom_blocks.png" > /dev/null 2>&1
echo "regenerated the diagrams in $out"
