#!/usr/bin/env python3
"""Speed of rnngraph against PyTorch's CPU nn.RNN / nn.LSTM / nn.GRU and ONNX Runtime, in one run.

Same shapes, same thread count, same machine: for every configuration and thread count it times
  - rnngraph: `rnngraph bench --json [--train]` (one warm-up, median of --repeat runs);
  - PyTorch (Debian's python3-torch): sequence-first input, forward under torch.no_grad,
    training as forward plus y.sum().backward() with gradients for the parameters, x and h0;
  - ONNX Runtime (npm's onnxruntime-node, CPU; forward only): the PyTorch module exported with
    torch.onnx.export, run by bench/ort_bench.js with intra-op threads = the thread count.
It also measures, per thread count, the machine's float32 limit (`rnngraph bench peak`: the widest
FMA unit, as independent chains) and a 1024³ sgemm on OpenBLAS and on our kernels (`rnngraph bench sgemm`), and prints a
Markdown table: times in ms (rnngraph's steady state, and its first run of a new shape: build +
passes + plan + the first, cold run), rnngraph's GFLOP/s (the gate products' work; backward
counted as twice the forward's) and its share of the FMA limit, ONNX Runtime's share of that
limit (the same work in its time; both against the limit our bench process measured beside the
row), and each peer's time over ours (above 1: rnngraph is faster).

    /usr/bin/python3 bench/compare.py [--rnngraph build/rnngraph] [--threads 1,2] [--repeat 20]
                                      [--ort-dir /tmp/rnngraph-ort] [--quick]
                                      [--int8 | --bf16 | --dtypes f32,int8,bf16]
                                      [--openblas-coretype NAME[,NAME...]]

--int8 times the int8 models instead (LSTM and GRU, mid and large, forward): rnngraph's
`bench --dtype int8` against its float32, and PyTorch's dynamically quantized module
(torch.ao.quantization.quantize_dynamic, weights int8, activations quantized per call) on each
quantized engine it has (onednn, qnnpack), with each one's largest error against its own float32
model on the same input, as a share of max |y|. --bf16 does the same for the bf16 models, against
PyTorch's module in bfloat16 (weights and activations; torch.nn.Module.to(torch.bfloat16)).
--dtypes runs several of these tables in one run, one after the other in each environment
(`--dtypes f32,int8,bf16`: every row of issue 21's targets).

--openblas-coretype pins OpenBLAS's kernels (OPENBLAS_CORETYPE, e.g. Haswell for its AVX2 ones)
for the whole run, peers included; without it (or with `unset`) both OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are unset, so OpenBLAS picks its kernels from the CPU (a pinned name unsets
OPENBLAS_L2_SIZE too); `inherit` keeps both as the caller's environment has them (set or not).
A comma-separated list runs every row once in each environment, one table each, its header
naming both variables: issue 21's two environments in one run are `--openblas-coretype
inherit,unset` where the machine sets them, and `unset,Haswell` (the AVX2 pin they stood for)
where it does not.

ONNX Runtime is installed on first use with `npm install --ignore-scripts onnxruntime-node@1.20.1`
into --ort-dir (its CPU library ships in the package; nothing else is downloaded). Needs
Debian's python3-torch and node/npm; the build and the test suite never do.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

import warnings

import torch

warnings.filterwarnings("ignore")  # torch.onnx.export's notes on batch sizes and shape inference

SHAPES = [(1, 2, 5, 3), (1, 32, 32, 100), (32, 256, 256, 100), (64, 512, 512, 100)]  # B, I, H, T
CELLS = ["rnn", "lstm", "gru"]
ORT_VERSION = "1.20.1"


def make_module(cell, inputs, hidden):
    torch.manual_seed(0)
    return {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](inputs, hidden, 1)


def median_ms(once, repeat):
    once()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_torch(cell, batch, inputs, hidden, steps, repeat, train):
    module = make_module(cell, inputs, hidden)
    x = torch.randn(steps, batch, inputs, requires_grad=train)
    h0 = torch.zeros(1, batch, hidden, requires_grad=train)
    state = (h0, torch.zeros(1, batch, hidden, requires_grad=train)) if cell == "lstm" else h0

    def once():
        if train:
            module.zero_grad(set_to_none=True)
            module(x, state)[0].sum().backward()
        else:
            with torch.no_grad():
                module(x, state)

    return median_ms(once, repeat)


def ensure_ort(folder):
    if not os.path.isdir(os.path.join(folder, "node_modules", "onnxruntime-node")):
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", folder,
                        f"onnxruntime-node@{ORT_VERSION}"], check=True, capture_output=True)
    return os.path.join(folder, "node_modules")


def time_ort(node_path, cell, batch, inputs, hidden, steps, threads, repeat):
    module = make_module(cell, inputs, hidden)
    shapes = {"x": [steps, batch, inputs], "h0": [1, batch, hidden]}
    args = (torch.randn(*shapes["x"]), torch.zeros(*shapes["h0"]))
    names = ["x", "h0"]
    if cell == "lstm":
        shapes["c0"] = [1, batch, hidden]
        args = (args[0], (args[1], torch.zeros(*shapes["c0"])))
        names.append("c0")
    with tempfile.TemporaryDirectory() as scratch:
        model = os.path.join(scratch, "model.onnx")
        torch.onnx.export(module, args, model, input_names=names, output_names=["y"], opset_version=14)
        here = os.path.dirname(os.path.abspath(__file__))
        env = dict(os.environ, NODE_PATH=node_path, ORT_SHAPES=json.dumps(shapes))
        out = subprocess.run(["node", os.path.join(here, "ort_bench.js"), model, str(threads), str(repeat)],
                             check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.splitlines()[-1])["median_ms"]


def rnngraph(binary, args):
    out = subprocess.run([binary, "bench"] + [str(a) for a in args] + ["--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnngraph", default=os.path.join(here, "..", "build", "rnngraph"))
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--ort-dir", default=os.path.join(tempfile.gettempdir(), "rnngraph-ort"))
    parser.add_argument("--quick", action="store_true", help="LSTM shapes only")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--int8", action="store_true", help="the int8 rows instead")
    precision.add_argument("--bf16", action="store_true", help="the bf16 rows instead")
    precision.add_argument("--dtypes", help="several tables in one run, comma-separated: f32,int8,bf16")
    parser.add_argument("--openblas-coretype", default="unset",
                        help="OPENBLAS_CORETYPE for the whole run, peers included (default: unset, "
                             "OPENBLAS_L2_SIZE unset too; inherit: both as the caller has them); "
                             "comma-separated, one table each (inherit,unset or unset,Haswell)")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.int8 or args.bf16:
        dtypes = ["int8" if args.int8 else "bf16"]
    else:
        dtypes = args.dtypes.split(",") if args.dtypes else ["f32"]
    if not set(dtypes) <= {"f32", "int8", "bf16"}:
        parser.error(f"--dtypes takes f32, int8 and bf16, got {args.dtypes}")
    node_path = ensure_ort(args.ort_dir)
    cells = ["lstm"] if args.quick else CELLS
    counts = [int(t) for t in args.threads.split(",")]
    if not args.rows_only:
        # One process per environment and thread count: Debian's torch runs its products on
        # OpenBLAS, which reads OPENBLAS_CORETYPE and sizes its pool from OPENBLAS_NUM_THREADS when
        # the library loads, so both are set before import.
        tables = [(coretype, dtype) for coretype in args.openblas_coretype.split(",") for dtype in dtypes]
        for number, (coretype, dtype) in enumerate(tables):
            openblas = openblas_variables(coretype)
            dtype = None if dtype == "f32" else dtype
            if number:
                print()
            if dtype:
                print_reduced_header(args.repeat, dtype, openblas)
            else:
                print_header(args.repeat, openblas)
            for threads in counts:
                env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
                for name in OPENBLAS_VARIABLES:
                    env.pop(name, None)
                env.update(openblas)
                forwarded = ["--threads", str(threads), "--repeat", str(args.repeat), "--rnngraph",
                             args.rnngraph, "--ort-dir", args.ort_dir, "--rows-only"] + (
                                ["--quick"] if args.quick else []) + ([f"--{dtype}"] if dtype else [])
                subprocess.run(["/usr/bin/python3", os.path.abspath(__file__)] + forwarded, check=True, env=env)
        return
    if args.int8 or args.bf16:
        reduced_rows(args, counts, "int8" if args.int8 else "bf16")
    else:
        rows(args, counts, cells, node_path)


def print_header(repeat, openblas):
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"onnxruntime-node {ORT_VERSION}; median of {repeat} runs; {openblas_environment(openblas)}\n")
    print("| cell | B, I, H, T | pass | threads | PyTorch ms | ONNX Runtime ms | rnngraph ms | rnngraph new shape ms "
          "| rnngraph GFLOP/s | share of FMA limit | ONNX Runtime's share | PyTorch / rnngraph "
          "| ONNX Runtime / rnngraph |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)


def rows(args, counts, cells, node_path):
    for threads in counts:
        torch.set_num_threads(threads)
        units = rnngraph(args.rnngraph, ["peak", "--threads", threads])
        widest = "fma_avx512" if units.get("fma_avx512") else "fma_avx2"
        peak = units[widest][str(threads)]
        print(f"| FMA limit ({widest}) | | | {threads} | | | | | {peak:.1f} | 100% | | | |", flush=True)
        sgemm = rnngraph(args.rnngraph, ["sgemm", "--threads", threads])
        for name, gflops in (("OpenBLAS", sgemm["gflops"]), ("rnngraph's kernels", sgemm["ours_gflops"])):
            print(f"| sgemm 1024³ ({name}) | | | {threads} | | | | | {gflops:.1f} | {100 * gflops / peak:.0f}% | | | |",
                  flush=True)
        for train in (False, True):
            for cell in cells:
                for batch, inputs, hidden, steps in SHAPES:
                    ours = rnngraph(args.rnngraph, [cell, "--batch", batch, "--input-size", inputs, "--hidden-size",
                                                    hidden, "--steps", steps, "--threads", threads, "--repeat",
                                                    args.repeat] + (["--train"] if train else []))
                    torch_ms = time_torch(cell, batch, inputs, hidden, steps, args.repeat, train)
                    ort_ms = None if train else time_ort(node_path, cell, batch, inputs, hidden, steps, threads,
                                                         args.repeat)
                    ms = ours["median_ms"]
                    ort_cell = "—" if ort_ms is None else f"{ort_ms:.3f}"
                    ort_ratio = "—" if ort_ms is None else f"{ort_ms / ms:.2f}"
                    # ONNX Runtime's share of the limit that bench measured beside our run: the same
                    # work, in its time (what "1.3x ONNX Runtime" asks of us is 1.3 times this share)
                    ort_share = "—" if ort_ms is None else f"{100 * ours['share_of_peak'] * ms / ort_ms:.0f}%"
                    print(f"| {cell} | {batch}, {inputs}, {hidden}, {steps} | {'train' if train else 'forward'} | "
                          f"{threads} | {torch_ms:.3f} | {ort_cell} | {ms:.3f} | {ours['new_shape_ms']:.3f} | "
                          f"{ours['gflops']:.1f} | {100 * ours['share_of_peak']:.0f}% | {ort_share} | "
                          f"{torch_ms / ms:.2f} | {ort_ratio} |", flush=True)


OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def openblas_variables(coretype):
    """The OpenBLAS variables of one environment: none (unset), the caller's (inherit), or the
    kernels pinned to `coretype`."""
    if coretype == "inherit":
        return {name: os.environ[name] for name in OPENBLAS_VARIABLES if name in os.environ}
    return {} if coretype == "unset" else {"OPENBLAS_CORETYPE": coretype}


def openblas_environment(openblas):
    return ", ".join(f"{name}={openblas.get(name, 'unset')}" for name in OPENBLAS_VARIABLES)


def print_reduced_header(repeat, dtype, openblas):
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"median of {repeat} runs; {openblas_environment(openblas)}; error: largest |y_{dtype} - y_f32| over max |y_f32| "
          f"on x ~ N(0, 1)\n")
    print(f"| cell | B, I, H, T | threads | rnngraph f32 ms | rnngraph {dtype} ms | rnngraph {dtype} G(FL)OP/s (share of "
          f"the unit's limit) | {dtype} / f32 speed-up | rnngraph {dtype} error | PyTorch {dtype} ms (engine) "
          f"| PyTorch {dtype} error | PyTorch {dtype} / rnngraph {dtype} |")
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)


def torch_reduced(dtype, cell, batch, inputs, hidden, steps, repeat):
    """PyTorch's best time in `dtype` (int8: over its quantized engines), its engine, and its error against
    float32."""
    best = None
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"] if dtype == "int8" else ["bf16"]
    for engine in engines:
        module = make_module(cell, inputs, hidden)
        x = torch.randn(steps, batch, inputs, generator=torch.Generator().manual_seed(3))
        if dtype == "int8":
            torch.backends.quantized.engine = engine
            # quantize_dynamic swaps a model's submodules, never the model itself: hence the wrapper
            reduced = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(module), {type(module)},
                                                             dtype=torch.qint8)
            x_reduced = x
        else:
            reduced = make_module(cell, inputs, hidden).to(torch.bfloat16)
            x_reduced = x.to(torch.bfloat16)
        with torch.no_grad():
            reference = module(x)[0]
            error = float((reduced(x_reduced)[0].float() - reference).abs().max() / reference.abs().max())

            def once():
                reduced(x_reduced)

            ms = median_ms(once, repeat)
        if best is None or ms < best[0]:
            best = (ms, engine, error)
    return best


def reduced_rows(args, counts, dtype):
    for threads in counts:
        torch.set_num_threads(threads)
        for cell in ["lstm", "gru"]:
            for batch, inputs, hidden, steps in SHAPES[2:]:
                shape = ["--batch", batch, "--input-size", inputs, "--hidden-size", hidden, "--steps", steps,
                         "--threads", threads, "--repeat", args.repeat]
                f32 = rnngraph(args.rnngraph, [cell] + shape)
                ours = rnngraph(args.rnngraph, [cell] + shape + ["--dtype", dtype])
                error = rnngraph_error(args.rnngraph, cell, batch, inputs, hidden, steps, dtype)
                torch_ms, engine, torch_error = torch_reduced(dtype, cell, batch, inputs, hidden, steps, args.repeat)
                time.sleep(1)  # torch's idle workers spin for a while: let them stop before the next row
                print(f"| {cell} | {batch}, {inputs}, {hidden}, {steps} | {threads} | {f32['median_ms']:.3f} | "
                      f"{ours['median_ms']:.3f} | {ours['gflops']:.1f} ({100 * ours['share_of_peak']:.1f}% of "
                      f"{ours['peak_unit']}) | {f32['median_ms'] / ours['median_ms']:.2f} | {100 * error:.2f}% | "
                      f"{torch_ms:.3f} ({engine}) | {100 * torch_error:.2f}% | {torch_ms / ours['median_ms']:.2f} |",
                      flush=True)


def rnngraph_error(binary, cell, batch, inputs, hidden, steps, dtype):
    """rnngraph's largest |y_dtype - y_f32| over max |y_f32|: a model built, quantized and run by the CLI on
    x ~ N(0, 1)."""
    import numpy
    with tempfile.TemporaryDirectory() as scratch:
        model, quantized = os.path.join(scratch, "m.json"), os.path.join(scratch, "q.json")
        x = os.path.join(scratch, "x.npy")
        numpy.save(x, numpy.random.default_rng(3).standard_normal((steps, batch, inputs)).astype(numpy.float32))
        subprocess.run([binary, "build", cell, "--input-size", str(inputs), "--hidden-size", str(hidden), "-o", model],
                       check=True, capture_output=True)
        subprocess.run([binary, "quantize", model, "--dtype", dtype, "-o", quantized], check=True, capture_output=True)
        ys = []
        for m in (model, quantized):
            out = os.path.join(scratch, "y.npy")
            subprocess.run([binary, "run", m, "--input", x, "-o", out], check=True, capture_output=True)
            ys.append(numpy.load(out))
        return float(numpy.abs(ys[1] - ys[0]).max() / numpy.abs(ys[0]).max())


if __name__ == "__main__":
    main()
