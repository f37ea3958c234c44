#!/usr/bin/env python3
"""Speed of rnngraph against PyTorch's CPU nn.RNN / nn.LSTM / nn.GRU, forward and training.

Same shapes, same thread count, same machine, one run: for every configuration it times
PyTorch (sequence-first input, one warm-up, then the median of --repeat runs; forward under
torch.no_grad, training as forward plus y.sum().backward() with gradients for the parameters,
x and h0) and `rnngraph bench --json [--train]` with the same settings, and prints a Markdown
table whose ratio column is PyTorch's time over ours (above 1: rnngraph is faster), with
rnngraph's GFLOP/s (the gate products' work; backward counted as twice the forward's).

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
    ("rnn", 1, 2, 5, 3, 1),  # the seed's RNN
    ("lstm", 1, 32, 32, 100, 1),
    ("lstm", 32, 256, 256, 100, 1),
    ("lstm", 64, 512, 512, 100, 1),
    ("gru", 32, 256, 256, 100, 1),
    ("rnn", 32, 256, 256, 100, 1),
    ("lstm", 64, 128, 512, 20, 2),
]


def time_torch(cell, batch, inputs, hidden, steps, layers, repeat, train):
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](inputs, hidden, layers)
    x = torch.randn(steps, batch, inputs, requires_grad=train)
    h0 = torch.zeros(layers, batch, hidden, requires_grad=train)
    state = (h0, torch.zeros(layers, batch, hidden, requires_grad=train)) if cell == "lstm" else h0

    def once():
        if train:
            module.zero_grad(set_to_none=True)
            module(x, state)[0].sum().backward()
        else:
            with torch.no_grad():
                module(x, state)

    once()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_rnngraph(binary, cell, batch, inputs, hidden, steps, layers, threads, repeat, train):
    command = [binary, "bench", cell, "--batch", str(batch), "--input-size", str(inputs), "--hidden-size",
               str(hidden), "--steps", str(steps), "--layers", str(layers), "--threads", str(threads),
               "--repeat", str(repeat), "--json"] + (["--train"] if train else [])
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    return report["median_ms"], report["gflops"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnngraph", default=os.path.join(here, "..", "build", "rnngraph"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"torch {torch.__version__}; threads {args.threads}; median of {args.repeat} runs\n")
    print("| cell | B | I | H | T | L | pass | PyTorch ms | rnngraph ms | rnngraph GFLOP/s | PyTorch / rnngraph |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for train in (False, True):
        for cell, batch, inputs, hidden, steps, layers in CONFIGS:
            ours, gflops = time_rnngraph(args.rnngraph, cell, batch, inputs, hidden, steps, layers, args.threads,
                                         args.repeat, train)
            theirs = time_torch(cell, batch, inputs, hidden, steps, layers, args.repeat, train)
            print(f"| {cell} | {batch} | {inputs} | {hidden} | {steps} | {layers} | "
                  f"{'train' if train else 'forward'} | {theirs:.3f} | {ours:.3f} | {gflops:.1f} | "
                  f"{theirs / ours:.2f} |", flush=True)


if __name__ == "__main__":
    main()
