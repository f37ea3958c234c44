#!/usr/bin/env python3
"""Training throughput on scikit-learn's 8x8 digits against PyTorch, same set-up, one run.

The set-up of tests/fixtures/make_torch_digits.py (its data: tests/fixtures/digits_*.npy): an
LSTM of 32 on the rows of each image (T = 8, I = 8), a linear layer to 10 classes on the last
step, cross-entropy, Adam(lr = 0.01), batches of 32 shuffled each epoch, 1497 training samples,
15 epochs. For each thread count N:

- rnngraph: `rnngraph train --data ... --epochs 15 --threads N`, its own "sequences/s" line
  (the training loop's wall time: batches, forward, backward, optimizer; validation not asked);
- PyTorch 1.13 (Debian's python3-torch): the same loop with torch.set_num_threads(N) and
  OPENBLAS_NUM_THREADS=N, timed around the epochs.

Each figure is the median of --repeat runs (default 5). Prints a Markdown table.

    /usr/bin/python3 bench/train_digits.py [--repeat 5] [--threads 1,2] [--cli build/rnngraph]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")
H, B, LR, EPOCHS, TRAIN = 32, 32, 0.01, 15, 1497

TORCH = r"""
import os, sys, time
import numpy as np, torch
H, B, LR, EPOCHS, TRAIN, threads, fixtures = (int(sys.argv[1]), int(sys.argv[2]),
    float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
torch.set_num_threads(threads)
x = torch.from_numpy(np.load(os.path.join(fixtures, "digits_x.npy"))[:TRAIN])
y = torch.from_numpy(np.load(os.path.join(fixtures, "digits_y.npy"))[:TRAIN])
lstm, out = torch.nn.LSTM(8, H), torch.nn.Linear(H, 10)
opt = torch.optim.Adam(list(lstm.parameters()) + list(out.parameters()), lr=LR)
start = time.perf_counter()
for epoch in range(EPOCHS):
    perm = torch.randperm(TRAIN)
    for at in range(0, TRAIN, B):
        rows = perm[at:at + B]
        hs, _ = lstm(x[rows].transpose(0, 1))
        loss = torch.nn.functional.cross_entropy(out(hs[-1]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
print(EPOCHS * TRAIN / (time.perf_counter() - start))
"""


def rnngraph_rate(cli, threads, work):
    x, y = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    done = subprocess.run(
        [cli, "train", "--data", x, "--targets", y, "--epochs", str(EPOCHS), "--hidden-size",
         str(H), "--batch-size", str(B), "--lr", str(LR), "--threads", str(threads)],
        capture_output=True, text=True, check=True)
    return float(re.search(r"([0-9.]+) sequences/s", done.stderr).group(1))


def torch_rate(threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    done = subprocess.run(
        [sys.executable, "-c", TORCH, str(H), str(B), str(LR), str(EPOCHS), str(TRAIN),
         str(threads), FIXTURES], capture_output=True, text=True, check=True, env=env)
    return float(done.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--cli", default=os.path.join(HERE, "..", "build", "rnngraph"))
    args = parser.parse_args()
    import numpy as np
    with tempfile.TemporaryDirectory() as work:
        np.save(os.path.join(work, "x.npy"), np.load(os.path.join(FIXTURES, "digits_x.npy"))[:TRAIN])
        np.save(os.path.join(work, "y.npy"), np.load(os.path.join(FIXTURES, "digits_y.npy"))[:TRAIN])
        print("| threads | PyTorch sequences/s | rnngraph sequences/s | rnngraph / PyTorch |")
        print("|---|---|---|---|")
        for threads in [int(t) for t in args.threads.split(",")]:
            ours, theirs = [], []
            for _ in range(args.repeat):  # alternating, so drift hits both alike
                ours.append(rnngraph_rate(args.cli, threads, work))
                theirs.append(torch_rate(threads))
            o, t = statistics.median(ours), statistics.median(theirs)
            print(f"| {threads} | {t:.0f} | {o:.0f} | {o / t:.2f} |")


if __name__ == "__main__":
    main()
