// A cell that is not built in (tests/custom_cells.h, the CIFG LSTM) gets what the built-in cells
// get: one model for any length and batch, lengths, layers, directions, model files that carry
// its step graph (so the CLI runs, draws and trains it without the C++ that defined it), and
// training. Every result is compared with a plain-loop reference of the same equations.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <rnngraph/rnngraph.h>

#include "custom_cells.h"
#include "helpers.h"

using namespace rnngraph;
using namespace rnngraph::testing;
namespace fs = std::filesystem;

namespace {

// The graph's float32 against the double reference: rounding of a few dozen products.
constexpr double kTolerance = 1e-5;

models::Config cifg_config(int64_t layers, bool bidirectional) {
  return {.cell = cifg(),
          .input_size = 3,
          .hidden_size = 5,
          .layers = layers,
          .seed = 11,
          .bidirectional = bidirectional};
}

void check_against_reference(models::Model& m, const Tensor& x, std::vector<int64_t> lengths) {
  const Results& r = m.run({{"x", x}}, lengths);
  const Reference ref = cifg_reference(m.config(), m.weights(), x, lengths);
  check_close(r["y"], ref.y, kTolerance, "y");
  check_close(r["h_n"], ref.h_n, kTolerance, "h_n");
  check_close(r["c_n"], ref.c_n, kTolerance, "c_n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(custom_cell)

BOOST_AUTO_TEST_CASE(one_model_runs_any_length_with_lengths_layers_and_directions) {
  for (int64_t layers : {1, 2})
    for (bool bi : {false, true})
      BOOST_TEST_CONTEXT("L" << layers << (bi ? " bidirectional" : "")) {
        models::Model m(cifg_config(layers, bi));
        check_against_reference(m, init::normal(0, 1, 1).tensor({3, 2, 3}), {});
        check_against_reference(m, init::normal(0, 1, 2).tensor({11, 3, 3}), {});
        check_against_reference(m, init::normal(0, 1, 3).tensor({11, 3, 3}), {11, 4, 7});
      }
}

BOOST_AUTO_TEST_CASE(the_reference_catches_a_changed_equation) {
  // The mutant: c' = f * c + f * c̃ (the coupling dropped). The reference must tell.
  models::CellDefinition broken = cifg_definition();
  broken.step = [](const models::CellState& s, const Value& x, const models::CellWeights& w) {
    const Value z = concat({s[0], x}, 1);
    const Value f = sigmoid(matmul(z, w["W_f"]) + w["b_f"]);
    const Value c = f * s[1] + f * tanh(matmul(z, w["W_c"]) + w["b_c"]);
    return models::CellState{sigmoid(matmul(z, w["W_o"]) + w["b_o"]) * tanh(c), c};
  };
  models::Config c = cifg_config(1, false);
  c.cell = models::Cell(std::make_shared<const models::CellDefinition>(broken));
  models::Model m(c);
  const Tensor x = init::normal(0, 1, 1).tensor({4, 2, 3});
  const Reference ref = cifg_reference(c, m.weights(), x, {});
  BOOST_TEST(difference(m.run({{"x", x}})["y"], ref.y).worst.error > 1e-2);
}

BOOST_AUTO_TEST_CASE(a_model_file_carries_the_step_graph_and_the_cli_needs_no_cpp) {
  const fs::path dir = scratch_dir("custom_cell_file");
  models::Model m(cifg_config(2, true));
  m.save(dir / "cifg.json");
  BOOST_TEST(io::read_file(dir / "cifg.json").find("cell_step_input") != std::string::npos);

  // Not registered here either: the file's step graphs define the cell.
  BOOST_TEST(!models::is_registered("cifg"));
  models::Model loaded = models::Model::load(dir / "cifg.json");
  BOOST_TEST(loaded.config().cell.name() == "cifg");
  const Tensor x = init::normal(0, 1, 4).tensor({7, 2, 3});
  check_against_reference(loaded, x, {7, 5});
  const Tensor y = m.run({{"x", x}})["y"].clone();
  check_close(loaded.run({{"x", x}})["y"], y, 0, "y after reloading");

  io::write_npy(dir / "x.npy", x);
  const Outcome run = run_cli(dir, "run cifg.json --input x.npy -o y.npy");
  BOOST_TEST_REQUIRE(run.code == 0, run.err);
  check_close(io::read_npy(dir / "y.npy"), y, 0, "rnngraph run");
  const Outcome grad = run_cli(dir, "grad cifg.json --input x.npy --wrt all -o g.safetensors");
  BOOST_TEST_REQUIRE(grad.code == 0, grad.err);
  BOOST_TEST(io::read_safetensors(dir / "g.safetensors").contains("W_f_l1_reverse"));
  BOOST_TEST(io::read_safetensors(dir / "g.safetensors").contains("c0"));
  for (const char* view : {"blocks", "unrolled", "rolled", "cell"}) {
    const Outcome dot = run_cli(dir, fmt::format("dot cifg.json --view {} -o {}.svg", view, view));
    BOOST_TEST(dot.code == 0, view << ": " << dot.err);
    BOOST_TEST(fs::file_size(dir / fmt::format("{}.svg", view)) > 1000u, view);
  }
  // The file carries the cell's label and role labels too: the boxes are "CIFG LSTM" cells, and
  // the cell view names the gate by its role.
  BOOST_TEST_REQUIRE(run_cli(dir, "dot cifg.json -o blocks.dot").code == 0);
  const std::string blocks = io::read_file(dir / "blocks.dot");
  BOOST_TEST(blocks.find("<b>CIFG LSTM ⇄</b>") != std::string::npos);
  BOOST_TEST_REQUIRE(run_cli(dir, "dot cifg.json --view cell -o cell.dot").code == 0);
  BOOST_TEST(io::read_file(dir / "cell.dot").find("<b>coupled gate</b>: W_f_l0") !=
             std::string::npos);
  const Outcome info = run_cli(dir, "info cifg.json");
  BOOST_TEST(info.code == 0, info.err);
  BOOST_TEST(info.out.find("cifg") != std::string::npos, info.out);
  // Saved again by the CLI's side (a stored cell), the file still carries the cell.
  loaded.save(dir / "again.json");
  check_close(models::Model::load(dir / "again.json").run({{"x", x}})["y"], y, 0, "saved twice");
}

BOOST_AUTO_TEST_CASE(trains_and_the_cli_resumes_the_run) {
  const fs::path dir = scratch_dir("custom_cell_train");
  models::Trainer trainer({.cell = cifg(),
                           .hidden_size = 8,
                           .steps = 12,
                           .batch = 8,
                           .iterations = 60,
                           .lr = 0.02,
                           .seed = 3});
  float first = 0, last = 0;
  while (!trainer.done()) {
    last = trainer.iterate();
    if (first == 0) first = last;
  }
  BOOST_TEST(last < first / 2, "loss " << first << " → " << last);
  trainer.save(dir / "run.json");
  const Outcome resumed = run_cli(dir, "train --resume run.json --iterations 70");
  BOOST_TEST_REQUIRE(resumed.code == 0, resumed.err);
  BOOST_TEST(resumed.out.find("final loss") != std::string::npos, resumed.out);
}

BOOST_AUTO_TEST_CASE(unknown_cells_and_bad_definitions_are_named) {
  const fs::path dir = scratch_dir("custom_cell_errors");
  models::Model m(cifg_config(1, false));
  m.save(dir / "cifg.json");
  // The recipe names a cell that is neither registered nor stored: strip the stored graphs.
  std::string text = io::read_file(dir / "cifg.json");
  text.replace(text.find("\"cifg\""), 6, "\"nocell\"");
  {
    std::ofstream(dir / "renamed.json") << text;
    fs::copy_file(dir / "cifg.safetensors", dir / "renamed.safetensors");
  }
  // (The safetensors file carries the JSON it was saved with, and the newer one wins only when
  // their save ids differ; a hand edit keeps the id, so the edited JSON stands.)
  BOOST_CHECK_NO_THROW(models::Model::load(dir / "renamed.json"));
  const Outcome unknown = run_cli(dir, "build nocell --input-size 2 --hidden-size 3 -o n.json");
  BOOST_TEST(unknown.code == 2);
  BOOST_TEST(unknown.err.find(
                 "unknown cell 'nocell' (registered: gru, ln_lstm, lstm, peephole_lstm, rnn)") !=
                 std::string::npos,
             unknown.err);

  models::Recipe recipe = models::recipe(cifg_config(1, false));
  BOOST_CHECK_EXCEPTION(models::config_from_recipe(recipe), FormatError, [](const FormatError& e) {
    return std::string(e.what()).find("cell 'cifg' is neither registered") != std::string::npos;
  });

  // A step that hands back the wrong state is refused with the cell's name.
  models::CellDefinition wrong = cifg_definition("wrong_state");
  wrong.step = [](const models::CellState& s, const Value&, const models::CellWeights&) {
    return models::CellState{s[0]};
  };
  models::Config c = cifg_config(1, false);
  c.cell = models::Cell(std::make_shared<const models::CellDefinition>(wrong));
  BOOST_CHECK_EXCEPTION(models::Model{c}, GraphError, [](const GraphError& e) {
    return std::string(e.what()).find("cell 'wrong_state'") != std::string::npos;
  });
  BOOST_CHECK_THROW(models::register_cell(cifg_definition("lstm")), GraphError);
  BOOST_CHECK_THROW(models::register_cell({.name = "half"}), GraphError);
}

BOOST_AUTO_TEST_CASE(a_registered_cell_is_found_by_name) {
  const models::Cell registered = models::register_cell(cifg_definition("cifg_registered"));
  BOOST_TEST(models::find_cell("cifg_registered").name() == "cifg_registered");
  BOOST_TEST(!registered->built_in);
  const std::vector<std::string> names = models::registered_cells();
  BOOST_TEST(std::count(names.begin(), names.end(), "cifg_registered") == 1);
}

// The variants registered beside lstm (models/peephole_lstm.h, models/ln_lstm.h). ONNX Runtime
// checks the peephole LSTM's exact function (suite onnx_runtime); autodiff their gradients.
BOOST_AUTO_TEST_CASE(peephole_lstm_without_peepholes_is_the_lstm) {
  models::Config c{.cell = models::find_cell("peephole_lstm"),
                   .input_size = 3,
                   .hidden_size = 4,
                   .layers = 2,
                   .seed = 5,
                   .bidirectional = true};
  models::Model peephole(c);
  c.cell = models::Cell::Lstm;
  models::Model lstm(c);
  for (const auto& [name, w] : lstm.weights())
    std::copy_n(peephole.weights().at(name).data(), w.numel(), w.data());
  const Tensor x = init::normal(0, 1, 6).tensor({6, 2, 3});
  const Tensor with = peephole.run({{"x", x}})["y"].clone();
  for (const auto& [name, w] : peephole.weights())
    if (name.starts_with("p_")) std::fill_n(w.data(), w.numel(), 0.0f);
  check_close(peephole.run({{"x", x}})["y"], lstm.run({{"x", x}})["y"], 1e-6, "p = 0");
  BOOST_TEST(difference(with, lstm.run({{"x", x}})["y"]).worst.error > 1e-3);
}

BOOST_AUTO_TEST_CASE(ln_lstm_matches_a_plain_loop_reference) {
  const int64_t T = 4, B = 2, I = 3, H = 4;
  models::Model m(
      {.cell = models::find_cell("ln_lstm"), .input_size = I, .hidden_size = H, .seed = 9});
  uint64_t seed = 40;
  for (const auto& [name, w] : m.weights())  // gains and biases away from 1 and 0
    init::normal(0.5, 0.5, ++seed).apply(w);
  const Tensor x = init::normal(0, 1, 7).tensor({T, B, I});
  const Results& r = m.run({{"x", x}});
  auto w = [&](const char* role, int64_t i, int64_t j) {
    const Tensor& t = m.weights().at(fmt::format("{}_l0", role));
    return double(t.data()[i * t.shape()[1] + j]);
  };
  auto normalised = [](std::vector<double> v) {
    double mean = 0, var = 0;
    for (double e : v) mean += e / double(v.size());
    for (double e : v) var += (e - mean) * (e - mean) / double(v.size());
    for (double& e : v) e = (e - mean) / std::sqrt(var + 1e-5);
    return v;
  };
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  Tensor y({T, B, H});
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(static_cast<std::size_t>(H)), c(static_cast<std::size_t>(H));
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> xw(static_cast<std::size_t>(4 * H)), hw(static_cast<std::size_t>(4 * H));
      for (int64_t j = 0; j < 4 * H; ++j) {
        for (int64_t i = 0; i < I; ++i)
          xw[std::size_t(j)] += x.data()[(t * B + b) * I + i] * w("W_x", i, j);
        for (int64_t k = 0; k < H; ++k) hw[std::size_t(j)] += h[std::size_t(k)] * w("W_h", k, j);
      }
      xw = normalised(xw), hw = normalised(hw);
      std::vector<double> a(static_cast<std::size_t>(4 * H));
      for (int64_t j = 0; j < 4 * H; ++j)
        a[std::size_t(j)] = xw[std::size_t(j)] * w("g_x", 0, j) + w("beta_x", 0, j) +
                            hw[std::size_t(j)] * w("g_h", 0, j) + w("beta_h", 0, j) + w("b", 0, j);
      for (int64_t j = 0; j < H; ++j)
        c[std::size_t(j)] = sigmoid(a[std::size_t(H + j)]) * c[std::size_t(j)] +
                            sigmoid(a[std::size_t(j)]) * std::tanh(a[std::size_t(3 * H + j)]);
      const std::vector<double> cn = normalised(c);
      for (int64_t j = 0; j < H; ++j) {
        h[std::size_t(j)] = sigmoid(a[std::size_t(2 * H + j)]) *
                            std::tanh(cn[std::size_t(j)] * w("g_c", 0, j) + w("beta_c", 0, j));
        y.data()[(t * B + b) * H + j] = float(h[std::size_t(j)]);
      }
    }
  }
  check_close(r["y"], y, kTolerance, "ln_lstm y");
}

BOOST_AUTO_TEST_CASE(variants_build_from_the_cli) {
  const fs::path dir = scratch_dir("custom_cell_variants");
  for (const char* flag : {"--peepholes", "--layer-norm"}) {
    const Outcome built =
        run_cli(dir, fmt::format("build lstm {} --input-size 2 --hidden-size 3 -o v.json", flag));
    BOOST_TEST(built.code == 0, built.err);
    // Built at its default T = 1, the cell view still finds the recurrence (it unrolls 2 steps).
    const Outcome cell = run_cli(dir, "dot v.json --view cell -o v.svg");
    BOOST_TEST(cell.code == 0, cell.err);
    BOOST_TEST(io::read_file(dir / "v.svg").find("t&#45;1") != std::string::npos);  // h_{t-1}
    BOOST_TEST(run_cli(dir, "info v.json")
                   .out.find(std::string(flag) == "--peepholes" ? "peephole_lstm" : "ln_lstm") !=
               std::string::npos);
  }
  const Outcome both =
      run_cli(dir, "build lstm --peepholes --layer-norm --input-size 2 --hidden-size 3 -o b.json");
  BOOST_TEST(both.code == 2);
  BOOST_TEST(run_cli(dir, "build gru --peepholes --input-size 2 --hidden-size 3 -o b.json").code ==
             2);
  BOOST_TEST(!fs::exists(dir / "b.json"));
}

BOOST_AUTO_TEST_SUITE_END()
