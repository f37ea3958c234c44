// Thread sweeps: every split of work over the pool (sgemm rows or columns, packed panels, fused
// cell rows) gives what one thread gives, forward and backward, in the library and through the
// CLI's --threads, with N ∈ {1, 2, 3, 5} on odd and prime shapes above every parallel threshold,
// so that no count divides the work evenly and a lost remainder shows.
//
// Thresholds (ops/matmul.cpp, ops/packed_gemm.cpp, ops/cell_kernels.h): products from 2^20
// multiply-adds, fused cells from B·H = 8192. The shapes: B = 7 (7 rows over 2, 3, 5 threads
// leave 1, 1, 2 over), H = 1201 (B·H = 8407; 4H = 4804 columns, 151 packed panels), I = 33,
// T = 5 (T·B = 35 hoisted rows), an output layer of 31 (35 × 31 × 1201 multiply-adds: split by
// rows, as 35 ≥ 31). What the split cannot change (packed panels, fused cell rows: each element
// is computed by the same code whoever computes it) must be equal bit for bit; sgemm computes
// each part as a product of its own, whose blocking may differ at the edges, so those are held
// to 1e-5 relative.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <numeric>

#include <rnngraph/ops/bf16_gemm.h>
#include <rnngraph/ops/int8_gemm.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using rnngraph::testing::check_close;
using rnngraph::testing::check_relative;

namespace {

const int kThreadCounts[] = {2, 3, 5};

// Restores one thread when a test ends, whatever it threw.
struct OneThreadAfter {
  ~OneThreadAfter() { set_compute_threads(1); }
};

using Outputs = std::map<std::string, Tensor>;

Outputs run_with(int threads, const Graph& trained, const Feeds& feeds) {
  set_compute_threads(threads);
  Executor run(trained, {}, {.optimize = false});
  Outputs out;
  for (const auto& [name, t] : run(feeds)) out.emplace(name, t.clone());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE(split_covers_every_index_once) {
  for (int64_t total : {0, 1, 2, 5, 7, 33, 151, 1025})
    for (int parts = 1; parts <= 6; ++parts) {
      int64_t next = 0, smallest = total, largest = 0;
      for (int p = 0; p < parts; ++p) {
        const auto [begin, end] = split(total, parts, p);
        BOOST_REQUIRE_EQUAL(begin, next);  // in order, no gap, no overlap
        BOOST_REQUIRE_LE(begin, end);
        smallest = std::min(smallest, end - begin), largest = std::max(largest, end - begin);
        next = end;
      }
      BOOST_TEST_CONTEXT(total << " over " << parts) {
        BOOST_CHECK_EQUAL(next, total);
        BOOST_CHECK_LE(largest - smallest, 1);
      }
    }
}

BOOST_AUTO_TEST_CASE(parallel_for_runs_every_task_once_and_splits_all_the_work) {
  OneThreadAfter restore;
  set_compute_threads(5);
  for (int n : {1, 2, 3, 4, 5})
    for (int round = 0; round < 200; ++round) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
      parallel_for(n, [&](int t) { runs[std::size_t(t)].fetch_add(1); });
      for (const auto& r : runs) BOOST_REQUIRE_EQUAL(r.load(), 1);
    }
  // A sum over 1025 indices split three and five ways equals the plain sum.
  std::vector<int64_t> values(1025);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = int64_t(i * i % 97);
  const int64_t expected = std::accumulate(values.begin(), values.end(), int64_t(0));
  for (int n : {3, 5}) {
    std::vector<int64_t> partial(std::size_t(n), 0);
    parallel_for(n, [&](int t) {
      const auto [begin, end] = split(int64_t(values.size()), n, t);
      for (int64_t i = begin; i < end; ++i) partial[std::size_t(t)] += values[std::size_t(i)];
    });
    BOOST_CHECK_EQUAL(std::accumulate(partial.begin(), partial.end(), int64_t(0)), expected);
  }
}

BOOST_AUTO_TEST_CASE(forward_and_backward_equal_one_thread_for_every_cell) {
  OneThreadAfter restore;
  const int64_t T = 5, B = 7, I = 33, H = 1201, O = 31;
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    Graph g;
    const models::Outputs out = models::build(g, {.cell = cell,
                                                  .input_size = I,
                                                  .hidden_size = H,
                                                  .steps = T,
                                                  .batch = B,
                                                  .seed = 3,
                                                  .output_size = O});
    g.output("loss", models::mse_loss(out.y, g.input("target", {T, B, O})));
    std::vector<std::string> wrt = parameter_names(g);
    wrt.push_back("x");
    wrt.push_back("h0");
    Feeds feeds{{"x", init::normal(0, 1, 1).tensor({T, B, I})},
                {"h0", init::normal(0, 1, 2).tensor({1, B, H})},
                {"target", init::normal(0, 1, 4).tensor({T, B, O})}};
    if (cell == models::Cell::Lstm) feeds.emplace("c0", init::normal(0, 1, 3).tensor({1, B, H}));
    // optimized: hoisted and merged products (sgemm), packed recurrent products, fused cells;
    // as built: every product a plain sgemm, split by rows or columns
    for (bool optimized : {true, false}) {
      const auto trained = passes::training_graph(g, "loss", wrt, optimized);
      const Outputs one = run_with(1, *trained, feeds);
      BOOST_REQUIRE_GT(one.size(), 5u);
      for (int threads : kThreadCounts) {
        const Outputs many = run_with(threads, *trained, feeds);
        for (const auto& [name, expected] : one)
          check_relative(many.at(name), expected, 1e-5,
                         fmt::format("{} {} {} threads: {}", models::to_string(cell),
                                     optimized ? "optimized" : "as built", threads, name));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(packed_products_and_fused_cells_are_bit_for_bit) {
  // Recurrent products on packed weights and the fused LSTM cell alone (no sgemm): nothing the
  // split changes can change a sum, so the results are equal to the last bit.
  OneThreadAfter restore;
  const int64_t T = 3, B = 7, H = 1201;
  Graph g;
  const models::Outputs out = models::build(
      g, {.cell = models::Cell::Lstm, .input_size = 1, .hidden_size = H, .steps = T, .batch = B});
  g.output("loss", models::sum_loss(out.y));
  const auto trained = passes::training_graph(g, "loss", std::vector<std::string>{"h0", "c0"});
  std::size_t packed = 0, fused = 0;
  for (const Node& n : trained->nodes()) {
    if (n.kind != NodeKind::Op) continue;
    packed += n.op->name() == "matmul_packed";
    fused += n.op->name().starts_with("lstm_");
  }
  BOOST_TEST_MESSAGE("matmul_packed nodes: " << packed << ", fused LSTM nodes: " << fused);
  BOOST_REQUIRE_GT(packed, 0u);
  BOOST_REQUIRE_GT(fused, 0u);
  const Feeds feeds{{"x", init::normal(0, 1, 1).tensor({T, B, 1})},
                    {"h0", init::normal(0, 1, 2).tensor({1, B, H})},
                    {"c0", init::normal(0, 1, 3).tensor({1, B, H})}};
  const Outputs one = run_with(1, *trained, feeds);
  for (int threads : kThreadCounts) {
    const Outputs many = run_with(threads, *trained, feeds);
    for (const std::string name : {"y", "h_n", "c_n", "grad/h0", "grad/c0"})
      check_close(many.at(name), one.at(name), 0, fmt::format("{} threads: {}", threads, name));
  }
}

BOOST_AUTO_TEST_CASE(int8_and_bf16_products_are_bit_for_bit_on_every_isa) {
  // kernels::int8_gemm and bf16_gemm over 2, 3 and 5 threads: 161 rows (at least 32 a thread:
  // each thread its own rows in tiles of 16, the last thread's ending in a partial tile) and 40
  // rows (fewer: rows prepared over the threads, then the column groups split), both above the
  // 2^21 multiply-adds the pool waits for. Each element is computed by the same code whichever
  // thread computes it, so the results are equal to the last bit.
  OneThreadAfter restore;
  const int64_t k = 100, n = 300;
  const Tensor w = init::uniform(-0.5f, 0.5f, 5).tensor({k, n});
  for (kernels::Isa isa : kernels::runnable_isas())
    for (int64_t m : {161, 40}) {
      const Tensor a = init::normal(0, 1, 6).tensor({m, k});
      std::vector<float> int8(std::size_t(kernels::int8_packed_floats(k, n)));
      kernels::quantize_columns(w.data(), n, k, n, false, int8.data(), isa);
      std::vector<float> bf16(std::size_t(kernels::bf16_packed_floats(k, n)));
      kernels::pack_bf16(w.data(), n, k, n, false, bf16.data());
      auto products = [&](int threads) {
        set_compute_threads(threads);
        std::pair<Tensor, Tensor> y{Tensor({m, n}), Tensor({m, n})};
        kernels::int8_gemm(a.data(), k, m, k, int8.data(), n, y.first.data(), n, isa);
        kernels::bf16_gemm(a.data(), k, m, k, bf16.data(), n, y.second.data(), n, isa);
        return y;
      };
      const auto one = products(1);
      for (int threads : kThreadCounts) {
        const auto many = products(threads);
        const std::string at =
            fmt::format("{} m={} threads={}", kernels::isa_name(isa), m, threads);
        check_close(many.first, one.first, 0, at + " int8");
        check_close(many.second, one.second, 0, at + " bf16");
      }
    }
}

BOOST_AUTO_TEST_CASE(cli_run_and_grad_with_threads_equal_one_thread) {
  // The case: a 1025-wide RNN, and an LSTM, through `rnngraph run` and `grad`.
  const fs::path dir = rnngraph::testing::scratch_dir("threads");
  io::write_npy(dir / "x.npy", init::normal(0, 1, 5).tensor({5, 7, 33}));
  for (const char* cell : {"rnn", "lstm"}) {
    BOOST_TEST_CONTEXT(cell) {
      auto r = rnngraph::testing::run_cli(
          dir,
          fmt::format("build {0} --input-size 33 --hidden-size 1025 --seed 2 -o {0}.json", cell));
      BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
      for (int threads : {1, 2, 3, 5}) {
        r = rnngraph::testing::run_cli(
            dir,
            fmt::format("run {0}.json --input x.npy --threads {1} -o {0}_y{1}.npy", cell, threads));
        BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
        r = rnngraph::testing::run_cli(
            dir, fmt::format("grad {0}.json --input x.npy --wrt all --threads {1} -o "
                             "{0}_g{1}.safetensors",
                             cell, threads));
        BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
      }
      const Tensor y1 = io::read_npy(dir / fmt::format("{}_y1.npy", cell));
      const io::TensorMap g1 = io::read_safetensors(dir / fmt::format("{}_g1.safetensors", cell));
      BOOST_REQUIRE_GT(g1.size(), 2u);
      for (int threads : kThreadCounts) {
        check_relative(io::read_npy(dir / fmt::format("{}_y{}.npy", cell, threads)), y1, 1e-5,
                       fmt::format("run --threads {}: y", threads));
        const io::TensorMap g =
            io::read_safetensors(dir / fmt::format("{}_g{}.safetensors", cell, threads));
        BOOST_CHECK_EQUAL(g.size(), g1.size());
        for (const auto& [name, expected] : g1)
          check_relative(g.at(name), expected, 1e-5,
                         fmt::format("grad --threads {}: {}", threads, name));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
