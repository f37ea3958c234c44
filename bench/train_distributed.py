#!/usr/bin/env python3
"""Data-parallel training throughput: one process against `mpirun -np N`, on this machine.

The data: scikit-learn's 8x8 digits (tests/fixtures/digits_*.npy, rows as steps: T = 8, I = 8,
10 classes), tiled to 3594 samples so an epoch is long enough to time. For each hidden size H,
an LSTM trained with Adam for --epochs epochs in batches of --batch (the global batch), one
thread per process:

- 1 process: `rnngraph train --data ...`, no launcher;
- N processes: `mpirun -np N rnngraph train ...` (--allow-run-as-root --oversubscribe).

Reported per run (median of --repeat): sequences/s from the CLI's own line (the training loop's
wall time, validation not asked), the speed-up over one process, and the share of process 0's
time spent in the gradients' allreduce (the wait for the slower process included), with the
bytes each allreduce moves (4 per parameter). Prints a Markdown table.

    /usr/bin/python3 bench/train_distributed.py [--repeat 3] [--processes 2] [--hidden 32,256]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")


def run(command, cwd):
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr}")
    speed = re.search(r"([0-9.]+) sequences/s", done.stderr)
    share = re.search(r"allreduce ([0-9.]+)%", done.stderr)
    return float(speed.group(1)), float(share.group(1)) if share else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=os.path.join(HERE, "..", "build", "rnngraph"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--processes", default="2")
    ap.add_argument("--hidden", default="32,256")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    cli = os.path.abspath(args.cli)
    mpirun = shutil.which("mpirun")
    with tempfile.TemporaryDirectory() as work:
        x = np.load(os.path.join(FIXTURES, "digits_x.npy"))
        y = np.load(os.path.join(FIXTURES, "digits_y.npy"))
        np.save(os.path.join(work, "x.npy"), np.concatenate([x, x]))
        np.save(os.path.join(work, "y.npy"), np.concatenate([y, y]))
        print(f"| H | processes | sequences/s | speed-up | allreduce share | bytes per allreduce |")
        print("|---|---|---|---|---|---|")
        for h in [int(v) for v in args.hidden.split(",")]:
            flags = ["train", "--data", "x.npy", "--targets", "y.npy", "--epochs",
                     str(args.epochs), "--batch-size", str(args.batch), "--hidden-size", str(h),
                     "--lr", "0.003", "--threads", "1"]
            params = 4 * h * (8 + h) + 4 * h + 10 * h + 10  # W [(I + H), 4H], b, out layer
            base = None
            for n in [1] + [int(v) for v in args.processes.split(",")]:
                launcher = [] if n == 1 else [mpirun, "--allow-run-as-root", "--oversubscribe",
                                              "-np", str(n)]
                runs = [run(launcher + [cli] + flags, work) for _ in range(args.repeat)]
                speed = statistics.median(r[0] for r in runs)
                share = statistics.median(r[1] for r in runs)
                base = base or speed
                print(f"| {h} | {n} | {speed:.0f} | {speed / base:.2f}x | "
                      f"{share:.1f}% | {4 * params:,} |", flush=True)


if __name__ == "__main__":
    main()
