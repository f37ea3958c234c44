#!/usr/bin/env python3
"""Forward-pass speed of rnngraph against PyTorch's CPU nn.RNN / nn.LSTM / nn.GRU.

Same shapes, same thread count, same machine, one run: for every configuration it times
PyTorch (torch.no_grad, sequence-first input, one warm-up, then the median of --repeat runs)
and `rnngraph bench --json` with the same settings, and prints a Markdown table whose ratio
column is PyTorch's time over ours (above 1: rnngraph is faster).

    /usr/bin/python3 bench/compare_torch.py [--rnngraph build/rnngraph] [--threads 1] [--repeat 20]

Needs Debian's python3-torch; the build and the test suite never do.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

import torch

CONFIGS = [  # cell, batch, input size, hidden size, steps, layers
    ("rnn", 1, 32, 128, 100, 1),
    ("lstm", 1, 32, 128, 100, 1),
    ("gru", 1, 32, 128, 100, 1),
    ("lstm", 16, 64, 256, 50, 1),
    ("lstm", 64, 128, 512, 20, 2),
    ("gru", 32, 64, 256, 50, 2),
]


def time_torch(cell, batch, inputs, hidden, steps, layers, repeat):
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](inputs, hidden, layers)
    x = torch.randn(steps, batch, inputs)
    times = []
    with torch.no_grad():
        module(x)  # warm-up
        for _ in range(repeat):
            start = time.perf_counter()
            module(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_rnngraph(binary, cell, batch, inputs, hidden, steps, layers, threads, repeat):
    out = subprocess.run(
        [binary, "bench", cell, "--batch", str(batch), "--input-size", str(inputs), "--hidden-size", str(hidden),
         "--steps", str(steps), "--layers", str(layers), "--threads", str(threads), "--repeat", str(repeat),
         "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnngraph", default=os.path.join(here, "..", "build", "rnngraph"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}; threads {args.threads}; median of {args.repeat} forward runs\n")
    print("| cell | B | I | H | T | L | PyTorch ms | rnngraph ms | PyTorch / rnngraph |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cell, batch, inputs, hidden, steps, layers in CONFIGS:
        ours = time_rnngraph(args.rnngraph, cell, batch, inputs, hidden, steps, layers, args.threads, args.repeat)
        theirs = time_torch(cell, batch, inputs, hidden, steps, layers, args.repeat)
        print(f"| {cell} | {batch} | {inputs} | {hidden} | {steps} | {layers} | {theirs:.3f} | {ours:.3f} | "
              f"{theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
