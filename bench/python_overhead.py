#!/usr/bin/env python3
"""The cost of calling a model from Python: rnngraph.Model's y, (h_n, c_n) = m(x) against the
C++ run that `rnngraph bench` times, same shape, same thread count, same machine, one run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--cli build/rnngraph]

For each LSTM shape (B, I, H, T) it prints the fastest and the median C++ run (bench --json),
the same of m(x) in a Python loop, and the differences: the per-call overhead (the input's view,
the GIL released and taken back, the outputs copied into new arrays). The fastest runs are the
steadier measure on a shared machine, where the medians of two loops minutes apart drift by
more than the overhead. Issue 22 aims at < 5 µs.
"""
import argparse
import json
import statistics
import subprocess
import time

import numpy as np

import rnngraph

SHAPES = [(1, 2, 5, 3), (1, 32, 32, 100), (32, 256, 256, 100)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", default="build/rnngraph")
    args = parser.parse_args()
    print("| B, I, H, T | C++ run µs, fastest (median) | Python m(x) µs, fastest (median) "
          "| overhead µs, fastest (median) | Python / C++, median |")
    print("|---|---|---|---|---|")
    for batch, inputs, hidden, steps in SHAPES:
        runs = max(20, int(2e5 / (batch * hidden * steps + 1000)))
        report = json.loads(subprocess.run(
            [args.cli, "bench", "lstm", "--batch", str(batch), "--input-size", str(inputs),
             "--hidden-size", str(hidden), "--steps", str(steps), "--repeat", str(runs),
             "--json"], check=True, capture_output=True, text=True).stdout)
        cpp, cpp_min = report["median_ms"] * 1000, report["min_ms"] * 1000
        m = rnngraph.Model(cell="lstm", input_size=inputs, hidden_size=hidden)
        x = np.random.default_rng(0).standard_normal((steps, batch, inputs)).astype(np.float32)
        for _ in range(5):
            m(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter_ns()
            m(x)
            times.append((time.perf_counter_ns() - start) / 1000)
        py, py_min = statistics.median(times), min(times)
        print(f"| {batch}, {inputs}, {hidden}, {steps} | {cpp_min:.1f} ({cpp:.1f}) "
              f"| {py_min:.1f} ({py:.1f}) | {py_min - cpp_min:.1f} ({py - cpp:.1f}) "
              f"| {py / cpp:.3f} |")


if __name__ == "__main__":
    main()
