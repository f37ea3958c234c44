// rnngraph bench: times the forward pass of a model graph with the given shapes, the way
// bench/compare.py times PyTorch and ONNX Runtime, so they can be compared in one run.
#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/threads.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/rolled.h>
#include <rnngraph/ops/isa.h>
#include <rnngraph/ops/ops.h>

#include "cli.h"
#include "peak.h"

namespace rnngraph::cli {

namespace {
constexpr std::string_view kUsage =
    R"(usage: rnngraph bench {rnn|lstm|gru} --batch B --input-size I --hidden-size H --steps T
                      [--layers L] [--threads N] [--repeat R] [--json] [--train] [--no-passes]
                      [--dtype f32|int8|bf16]
       rnngraph bench M.json --batch B --steps T [--threads N] [--repeat R] [--json]
       rnngraph bench sgemm [--size N] [--threads N] [--repeat R] [--json]
       rnngraph bench peak [--threads N] [--json]

Times the forward pass (x [T, B, I] to every h_t) of a model with random weights, as
'rnngraph run' computes it (each layer's step graph optimized and planned once, run T times,
its input products hoisted out of the loop a chunk of steps at a time, as many as fit this
core's L2 cache, at most 64): one warm-up run, then R timed runs (default 20); prints the
median and the fastest, and what the first run of a new shape costs: building the graphs, the
passes and the plans, and the first (cold) run.

'bench M.json' times a model file the same way, with its own cell, sizes, layers, directions,
output layer, token input, weights and precision (a 'rnngraph quantize' file runs in int8 or
bf16), on random input of T steps and batch B; its sizes and precision come from the file, so
--input-size, --hidden-size, --layers and --dtype go with a cell name only, and so do
--train, --no-passes and --unrolled.

  --threads N   threads for the large products and fused cells (default 1)
  --dtype D     the products' precision: f32 (default), int8 or bf16, as 'rnngraph quantize'
                makes models (forward only); the JSON line names it ("dtype")
  --json        one JSON object instead of the text line (bench/compare.py reads it); its
                hoisted_steps is the steps whose input products one chunk computes (0 when
                the unrolled graph runs: --train, --unrolled, --no-passes)
  --no-passes   plan the unrolled graph as built, without the graph passes (passes:
                cells fused, products split, hoisted and merged), to measure what they bring
  --unrolled    time the unrolled graph (every step's nodes, what training runs) instead of
                the step graph run T times (what models::Model and 'rnngraph run' do)
  --train       time forward + backward instead: the gradient of the sum of y with respect
                to every parameter and x, h0 (and c0), as PyTorch's y.sum().backward()
                computes it; the arena then holds what backward needs

'bench sgemm' measures an N × N by N × N product (default N = 1024) two ways: OpenBLAS's
cblas_sgemm on N threads of its own (the yardstick, and what the weight gradients run on below
AVX-512), and our own kernels as the models run them (the matmul op, split over our pool);
JSON: gflops (OpenBLAS's) and ours_gflops.

'bench peak' measures the machine's arithmetic limit: each unit this CPU has (float32 FMA on
AVX2 and on AVX-512, int8 dot products on AVX-VNNI and AVX-512 VNNI, bf16 dot products on
AVX-512 BF16, int8 and bf16 tile products on AMX) run as 12 independent chains (AMX: 4 tiles),
on 1 thread and on every core (or on --threads N), in GFLOP/s (GOP/s for int8, a multiply and
an add counting two); int8_avx2 is the vpmaddubsw + vpmaddwd pair our AVX2 int8 kernel runs. A
unit the CPU lacks is listed as absent. A model's --json line reports its share of the limit of
the unit its products run on, on its thread count (peak_gflops, share_of_peak, peak_unit: the
widest FMA unit for f32; int8_amx, int8_vnni512 or int8_avx2 for int8, in GOP/s; bf16_amx,
bf16_avx512 or, below AVX-512 BF16, fma_avx2 for bf16), and the kernels it ran ("kernels":
amx, avx512bf16, avx512vnni, avx512, avx2 or portable: the best this CPU has, or the cap
RNNGRAPH_MAX_ISA=portable|avx2|avx512|avx512vnni|avx512bf16|amx sets, to measure a lower ISA's
kernels on a newer CPU; a value that names none is refused).
)";

// The limits of every unit, on 1 thread and on every core (or on --threads N).
int bench_peak(const Args& args) {
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> counts{1};
  if (args.has("--threads"))
    counts = {int(args.integer("--threads", 1, 1, 256))};
  else if (cores > 1)
    counts.push_back(cores);
  std::vector<std::vector<PeakUnit>> measured;
  for (int n : counts) measured.push_back(measure_peaks(n));
  if (args.has("--json")) {
    std::string units;
    for (std::size_t u = 0; u < measured[0].size(); ++u) {
      std::string by_threads;
      for (std::size_t k = 0; k < counts.size(); ++k)
        by_threads +=
            fmt::format("{}\"{}\": {:.2f}", k ? ", " : "", counts[k], measured[k][u].per_second);
      units += fmt::format("{}\"{}\": {}", u ? ", " : "", measured[0][u].name,
                           measured[0][u].present ? "{" + by_threads + "}" : "null");
    }
    fmt::print("{{{}}}\n", units);
    return 0;
  }
  for (std::size_t u = 0; u < measured[0].size(); ++u) {
    const PeakUnit& p = measured[0][u];
    if (!p.present) {
      fmt::print("{:<13} absent on this CPU\n", p.name);
      continue;
    }
    std::string line = fmt::format("{:<13}", p.name);
    for (std::size_t k = 0; k < counts.size(); ++k)
      line += fmt::format("  {:8.1f} {} on {} thread{}", measured[k][u].per_second, p.unit,
                          counts[k], counts[k] == 1 ? "" : "s");
    fmt::print("{}\n", line);
  }
  return 0;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Milliseconds of `repeat` calls of `once`, fastest first, after one warm-up call (the first
// touch of the arena and of OpenBLAS's buffers), whose time goes to `first_ms` when given.
std::vector<double> timed_runs(int repeat, const std::function<void()>& once,
                               double* first_ms = nullptr) {
  const auto first = std::chrono::steady_clock::now();
  once();
  if (first_ms) *first_ms = ms_since(first);
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    once();
    ms.push_back(ms_since(start));
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

// The yardstick: one square sgemm, on OpenBLAS and on our own kernels, the same threads.
int bench_sgemm(const Args& args) {
  const int64_t n = args.integer("--size", 1024, 16, 8192);
  const int repeat = int(args.integer("--repeat", 20, 1, 100000));
  const int threads = int(args.integer("--threads", 1, 1, 256));
  set_compute_threads(threads);
  const Tensor a = init::normal(0, 1, 1).tensor({n, n}), b = init::normal(0, 1, 2).tensor({n, n});
  Tensor c({n, n});
  const int blas_n = int(n);
  // OpenBLAS with its own threads (set_compute_threads leaves it one: the models split its
  // products over our pool), then back to one.
  openblas_set_num_threads(threads);
  const std::vector<double> blas = timed_runs(repeat, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_n, blas_n, blas_n, 1.0f, a.data(),
                blas_n, b.data(), blas_n, 0.0f, c.data(), blas_n);
  });
  openblas_set_num_threads(1);
  // Ours: through the matmul op, exactly as the models' products run
  const std::vector<Tensor> inputs{a, b};
  const std::vector<double> ours =
      timed_runs(repeat, [&] { matmul_op().forward(inputs, c, Attrs{}); });
  auto gflops = [&](double ms) { return 2.0 * double(n) * double(n) * double(n) / (ms * 1e6); };
  if (args.has("--json"))
    fmt::print(
        "{{\"size\": {}, \"median_ms\": {:.4f}, \"min_ms\": {:.4f}, \"gflops\": {:.2f}, "
        "\"ours_min_ms\": {:.4f}, \"ours_gflops\": {:.2f}}}\n",
        n, blas[blas.size() / 2], blas.front(), gflops(blas.front()), ours.front(),
        gflops(ours.front()));
  else
    fmt::print(
        "sgemm {0}³ (fastest of {1}): OpenBLAS {2:.3f} ms, {3:.1f} GFLOP/s; ours {4:.3f} ms, "
        "{5:.1f} GFLOP/s\n",
        n, repeat, blas.front(), gflops(blas.front()), ours.front(), gflops(ours.front()));
  return 0;
}

int bench_main(const std::vector<std::string>& argv) {
  const Args args(argv,
                  {"--batch", "--input-size", "--hidden-size", "--steps", "--layers", "--threads",
                   "--repeat", "--size", "--dtype"},
                  {"--json", "--train", "--no-passes", "--unrolled"});
  if (args.positional().size() == 1 && args.positional()[0] == "sgemm") return bench_sgemm(args);
  if (args.positional().size() == 1 && args.positional()[0] == "peak") return bench_peak(args);
  const bool train = args.has("--train");
  // A model file's recipe and weights, or a cell name's with random weights.
  std::optional<models::Model> file_model;
  models::Config c;
  if (args.positional().size() == 1 && args.positional()[0].ends_with(".json")) {
    for (const char* flag : {"--input-size", "--hidden-size", "--layers", "--dtype", "--train",
                             "--no-passes", "--unrolled"})
      if (args.has(flag))
        throw UsageError(fmt::format(
            "{} goes with a cell name: a model file is timed with its own sizes and precision, "
            "as 'rnngraph run' runs it",
            flag));
    const std::string& path = args.positional()[0];
    file_model.emplace(models::Model::from_file(io::read_graph_file(path), path));
    c = file_model->config();
    c.steps = args.integer("--steps", std::nullopt);
    c.batch = args.integer("--batch", std::nullopt);
  } else {
    c = model_config(args, "bench", std::nullopt);
    c.precision = models::precision_from_string(args.get("--dtype").value_or("f32"), "--dtype");
  }
  if (c.precision != models::Precision::Float32 &&
      (train || args.has("--no-passes") || args.has("--unrolled")))
    throw UsageError(
        fmt::format("--dtype {} times the forward step loop: it goes without --train, --no-passes "
                    "and --unrolled",
                    models::to_string(c.precision)));
  const int threads = int(args.integer("--threads", 1, 1, 256));
  const int repeat = int(args.integer("--repeat", 20, 1, 100000));
  set_compute_threads(threads);

  const bool optimized = !args.has("--no-passes");
  Feeds feeds = random_model_input(c, c.steps, c.batch, 1);
  for (const models::StateVariable& s : models::model_state(c))
    feeds.emplace(s.name + "0", Tensor({c.layers * models::directions(c), c.batch, s.size}));
  double build_ms = 0, plan_ms = 0, first_run_ms = 0;
  std::size_t arena_bytes = 0, output_bytes = 0;
  int64_t hoisted_steps = 0;  // steps of x one chunk's products cover (0: the unrolled graph)
  std::vector<double> ms;
  if (!train && optimized && !args.has("--unrolled")) {
    // Forward as models::Model runs it: the step graphs built, optimized and planned once, run
    // T times (models/rolled.h); the weights' merged, packed or quantized forms made by the
    // first run and kept (one state of the weights, 0). Random weights are the model's, not part
    // of a new shape.
    const io::TensorMap weights = file_model ? file_model->weights() : models::Model(c).weights();
    const auto build_start = std::chrono::steady_clock::now();
    auto plan = std::make_shared<models::RolledPlan>(c, weights, c.batch);
    const auto plan_start = std::chrono::steady_clock::now();
    plan->plan();
    hoisted_steps = plan->hoisted_steps(c.steps);
    for (std::size_t at = 0; at < plan->layers().size(); ++at)
      if (!plan->layers()[at]->row_nodes.empty()) plan->hoisted(at, hoisted_steps * c.batch);
    models::RolledRun run(plan);
    build_ms = ms_since(build_start) - ms_since(plan_start);
    plan_ms = ms_since(plan_start);
    ms = timed_runs(
        repeat, [&] { run.run(feeds, Tensor(), 0); }, &first_run_ms);
    arena_bytes = run.working_bytes();
    output_bytes = std::size_t(run.run(feeds, Tensor(), 0)["y"].numel()) * sizeof(float);
  } else {
    // The unrolled graph: training (backward needs every step's values), or without passes.
    const auto build_start = std::chrono::steady_clock::now();
    auto g = std::make_unique<Graph>();
    const models::Outputs model = models::build(*g, c);
    std::vector<std::string> outputs{"y"};
    auto plan_start = std::chrono::steady_clock::now();
    if (train) {
      g->output("loss", models::sum_loss(model.y));
      const std::vector<std::string> wrt = gradient_targets(*g, true);
      for (const std::string& name : wrt) outputs.push_back("grad/" + name);
      plan_start = std::chrono::steady_clock::now();  // building the backward graph is planning
      g = passes::training_graph(*g, "loss", wrt, optimized);
    }
    Executor run(*g, outputs, {.optimize = optimized && !train});
    build_ms = ms_since(build_start) - ms_since(plan_start);
    plan_ms = ms_since(plan_start);
    ms = timed_runs(
        repeat, [&] { run(feeds); }, &first_run_ms);
    arena_bytes = run.arena_bytes();
    for (const auto& [name, id] : run.plan().outputs())  // the part of the arena outputs hold
      if (run.plan().slot(id).home == Plan::Home::Arena)
        output_bytes += std::size_t(run.plan().graph().node(id).shape.numel()) * sizeof(float);
  }
  const double median = ms[ms.size() / 2], fastest = ms.front();
  // What a shape the process has not seen costs before its first result: build, passes and
  // plan, then the first run (cold arena and caches).
  const double new_shape_ms = build_ms + plan_ms + first_run_ms;
  // The products' floating-point work: per step, layer, direction and matrix parameter [R, C] of
  // the cell (not the bias rows), a [B, R] by [R, C] product, and the output layer's
  // [B, D·H] by [D·H, O]; backward does twice the forward's products.
  double macs_per_row = 0;
  for (int64_t k = 0; k < c.layers; ++k)
    for (const models::ParameterSpec& p : models::layer_parameters(c, k))
      if (p.shape.rank() == 2 && p.shape[0] > 1)
        macs_per_row += double(models::directions(c)) * double(p.shape[0]) * double(p.shape[1]);
  macs_per_row +=
      double(models::directions(c) * models::cell_output_size(c)) * double(c.output_size);
  double flops = 2.0 * double(c.steps * c.batch) * macs_per_row;
  if (train) flops *= 3;
  const double gflops = flops / (median * 1e6);
  // int8 products are integer work: GOP/s; each precision against the unit its products run on
  const bool int8 = c.precision == models::Precision::Int8;
  const char* unit = int8 ? "GOP/s" : "GFLOP/s";
  if (args.has("--json")) {
    const double peak = product_peak(c.precision, threads);
    fmt::print(
        "{{\"engine\": \"rnngraph\", \"cell\": \"{}\", \"batch\": {}, \"input_size\": {}, "
        "\"hidden_size\": {}, \"steps\": {}, \"layers\": {}, \"bidirectional\": {}, "
        "\"threads\": {}, \"repeat\": {}, "
        "\"median_ms\": {:.4f}, \"min_ms\": {:.4f}, \"gflops\": {:.2f}, \"build_ms\": {:.3f}, "
        "\"plan_ms\": {:.3f}, \"first_run_ms\": {:.3f}, \"new_shape_ms\": {:.3f}, "
        "\"arena_bytes\": {}, \"output_bytes\": {}, \"train\": {}, \"passes\": {}, "
        "\"peak_gflops\": {:.2f}, \"share_of_peak\": {:.4f}, \"peak_unit\": \"{}\", "
        "\"kernels\": \"{}\", \"dtype\": \"{}\", \"unit\": \"{}\", \"hoisted_steps\": {}}}\n",
        models::to_string(c.cell), c.batch, c.input_size, c.hidden_size, c.steps, c.layers,
        c.bidirectional, threads, repeat, median, fastest, gflops, build_ms, plan_ms, first_run_ms,
        new_shape_ms, arena_bytes, output_bytes, train, optimized, peak, gflops / peak,
        product_unit(c.precision), kernels::isa_name(kernels::best_isa()),
        models::to_string(c.precision), unit, hoisted_steps);
  } else {
    fmt::print(
        "{} B={} I={} H={} T={} L={}{} threads={}{}{}: {:.3f} ms per {} (median of {}, fastest "
        "{:.3f}), {:.1f} {}, {:.0f} sequences/s, arena {} bytes; a new shape: built in "
        "{:.1f} ms, passes and plan {:.1f} ms, first run {:.1f} ms, {:.1f} ms in all\n",
        models::to_string(c.cell), c.batch, c.input_size, c.hidden_size, c.steps, c.layers,
        c.bidirectional ? " bidirectional" : "", threads, optimized ? " (passes)" : "",
        c.precision == models::Precision::Float32
            ? ""
            : " " + std::string(models::to_string(c.precision)),
        median, train ? "forward + backward" : "forward", repeat, fastest, gflops, unit,
        1000.0 * double(c.batch) / median, arena_bytes, build_ms, plan_ms, first_run_ms,
        new_shape_ms);
  }
  return 0;
}
}  // namespace

Command bench_command() {
  return {"bench", "time a model (forward or training) or sgemm; bench/compare.py runs the peers",
          kUsage, bench_main};
}

}  // namespace rnngraph::cli
