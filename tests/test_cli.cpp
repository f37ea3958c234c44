// The rnngraph program end to end: the README's recipe gives PyTorch's numbers, and every bad
// usage or input exits with 2, one line on stderr, and no output file.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <rnngraph/ops/isa.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using rnngraph::testing::fixture;

namespace {
using rnngraph::testing::Outcome;

fs::path work_dir() { return rnngraph::testing::scratch_dir("cli"); }

Outcome rnngraph_cli(const std::string& args) {
  return rnngraph::testing::run_cli(work_dir(), args);
}

// Exit code 2, exactly one line on stderr mentioning `fragment`, and none of `absent` written.
void expect_rejected(const std::string& args, const std::string& fragment,
                     std::initializer_list<const char*> absent = {}) {
  const Outcome r = rnngraph_cli(args);
  BOOST_TEST_CONTEXT("rnngraph " << args) {
    BOOST_CHECK_EQUAL(r.code, 2);
    BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    BOOST_CHECK_MESSAGE(r.err.find(fragment) != std::string::npos, "stderr: " << r.err);
    for (const char* name : absent)
      BOOST_CHECK_MESSAGE(!fs::exists(work_dir() / name), name << " exists");
    for (const auto& entry : fs::directory_iterator(work_dir()))
      BOOST_CHECK_MESSAGE(entry.path().string().find(".tmp-") == std::string::npos, entry.path());
  }
}

void check_recipe(const std::string& cell, int layers, int batch) {
  const std::string name = fmt::format("torch_{}_L{}_B{}", cell, layers, batch);
  const std::string graph = name + ".json";
  Outcome r = rnngraph_cli(
      fmt::format("build {} --input-size 3 --hidden-size 4 --steps 5 --layers {} --batch {} "
                  "--weights '{}' -o {}",
                  cell, layers, batch, fixture(name + ".safetensors"), graph));
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  std::string run = fmt::format("run {} --input '{}' --h0 '{}' -o {}_y.npy", graph,
                                fixture(name + "_x.npy"), fixture(name + "_h0.npy"), name);
  if (cell == "lstm") run += fmt::format(" --c0 '{}'", fixture(name + "_c0.npy"));
  r = rnngraph_cli(run);
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  rnngraph::testing::check_close(io::read_npy(work_dir() / (name + "_y.npy")),
                                 io::read_npy(fixture(name + "_y.npy")), 1e-5f);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(readme_recipe_gives_pytorchs_numbers) {
  check_recipe("lstm", 2, 1);
  check_recipe("lstm", 1, 3);
  check_recipe("gru", 2, 3);
  check_recipe("rnn", 2, 1);
}

BOOST_AUTO_TEST_CASE(csv_input_and_output_and_default_states) {
  // x as CSV (T lines of I numbers), zero initial states, y as CSV.
  std::ofstream(work_dir() / "x.csv") << "0.5,-1,2\n1,0,0\n0,0.25,-0.5\n";
  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("build gru --input-size 3 --hidden-size 2 --steps 3 --seed 4 -o g.json").code,
      0);
  const Outcome r = rnngraph_cli("run g.json --input x.csv -o y.csv");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const Tensor y = io::read_csv(work_dir() / "y.csv");
  BOOST_CHECK(y.shape() == Shape({3, 2}));

  // The same through the library: load the graph, feed zeros.
  const io::GraphFile file = models::load_file(work_dir() / "g.json");
  Executor run(*file.graph);
  const Tensor& expected = run({{"x", io::read_csv(work_dir() / "x.csv").reshaped({3, 1, 3})},
                                {"h0", Tensor({1, 1, 2})}})["y"];
  rnngraph::testing::check_close(y, expected.reshaped({3, 2}), 1e-6f);
  // Without -o the result is printed.
  const Outcome printed = rnngraph_cli("run g.json --input x.csv");
  BOOST_CHECK_EQUAL(printed.code, 0);
  BOOST_CHECK(printed.out.starts_with("y [3, 1, 2]\n"));
}

BOOST_AUTO_TEST_CASE(every_command_has_help) {
  for (const char* command :
       {"demo", "build", "run", "grad", "train", "sample", "dot", "info", "bench"}) {
    const Outcome r = rnngraph_cli(fmt::format("{} --help", command));
    BOOST_CHECK_EQUAL(r.code, 0);
    BOOST_CHECK(r.out.starts_with(fmt::format("usage: rnngraph {}", command)));
  }
  const Outcome overview = rnngraph_cli("--help");
  BOOST_CHECK_EQUAL(overview.code, 0);
  BOOST_CHECK(overview.out.find("build") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_usage_exits_2_with_one_line) {
  BOOST_CHECK_EQUAL(rnngraph_cli("").code, 2);
  expect_rejected("frobnicate", "unknown command 'frobnicate'");
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --steps 5 --colour red -o a.json",
                  "unknown option '--colour'", {"a.json"});
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --steps five -o a.json",
                  "whole number", {"a.json"});
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --steps 0 -o a.json", "between",
                  {"a.json"});
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --steps 5", "-o is required");
  expect_rejected("build transformer --input-size 3 --hidden-size 4 --steps 5 -o a.json",
                  "unknown cell", {"a.json"});
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --steps 5 -o", "-o needs a value");
  expect_rejected("run", "one graph file");
}

BOOST_AUTO_TEST_CASE(bad_input_exits_2_and_writes_nothing) {
  // Weights that do not fit, or are not safetensors at all.
  expect_rejected(
      fmt::format("build lstm --input-size 5 --hidden-size 4 --steps 5 --weights '{}' -o w.json",
                  fixture("torch_lstm_L1_B1.safetensors")),
      "weight_ih_l0", {"w.json", "w.safetensors"});
  // A 6-byte header that is cut-off JSON.
  std::ofstream(work_dir() / "junk.safetensors") << std::string("\x06\0\0\0\0\0\0\0{\"a\": ", 14);
  expect_rejected(
      "build rnn --input-size 3 --hidden-size 4 --steps 5 --weights junk.safetensors -o w.json",
      "header is not JSON", {"w.json", "w.safetensors"});
  expect_rejected(
      "build rnn --input-size 3 --hidden-size 4 --steps 5 --weights nowhere.safetensors -o w.json",
      "cannot open", {"w.json", "w.safetensors"});

  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("build rnn --input-size 3 --hidden-size 4 --steps 5 -o r.json").code, 0);
  Tensor x({5, 1, 3});
  io::write_npy(work_dir() / "x.npy", x);
  io::write_npy(work_dir() / "x_wrong.npy", Tensor({5, 1, 2}));
  expect_rejected("run r.json --input x_wrong.npy -o y.npy",
                  "input 'x' must be [T, B, 3], got [5, 1, 2]", {"y.npy"});
  expect_rejected("run r.json --input x.npy --c0 x.npy -o y.npy",
                  "--c0 is for cells with a state c", {"y.npy"});
  expect_rejected("run r.json --input x.npy -o y.txt", "arrays are .npy or .csv", {"y.txt"});
  std::ofstream(work_dir() / "x_bad.npy") << "\x93NUMPY garbage";
  expect_rejected("run r.json --input x_bad.npy -o y.npy", "not a numeric .npy file", {"y.npy"});
  std::ofstream(work_dir() / "broken.json") << "{\"format\": \"rnngraph.graph\", \"version\": 7}";
  expect_rejected("run broken.json --input x.npy -o y.npy", "version 7", {"y.npy"});
  expect_rejected("run r.json --input x.npy -o missing-dir/y.npy", "cannot write", {"missing-dir"});
}

BOOST_AUTO_TEST_CASE(run_takes_any_shape_lengths_and_a_stream) {
  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("build lstm --input-size 3 --hidden-size 4 --layers 2 -o s.json").code, 0);
  const Tensor x = init::normal(0, 1, 8).tensor({7, 2, 3});
  io::write_npy(work_dir() / "s_x.npy", x);
  // Any T and B: a [7, 2, 3] input on a model built with the default shape [1, 1].
  BOOST_REQUIRE_EQUAL(rnngraph_cli("run s.json --input s_x.npy -o s_y.npy").code, 0);
  models::Model model = models::Model::load(work_dir() / "s.json");
  rnngraph::testing::check_close(io::read_npy(work_dir() / "s_y.npy"), model.run({{"x", x}})["y"],
                                 1e-6f);
  // Lengths, int64 or float: zeros past each length.
  {
    std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";  // data 64-aligned
    const int64_t lengths[2] = {7, 3};
    std::ofstream out(work_dir() / "s_len.npy", std::ios::binary);
    out << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
        << char(header.size() >> 8) << header;
    out.write(reinterpret_cast<const char*>(lengths), sizeof lengths);
  }
  const Outcome padded = rnngraph_cli("run s.json --input s_x.npy --lengths s_len.npy -o s_p.npy");
  BOOST_REQUIRE_MESSAGE(padded.code == 0, padded.err);
  const std::vector<int64_t> lengths{7, 3};
  rnngraph::testing::check_close(io::read_npy(work_dir() / "s_p.npy"),
                                 model.run({{"x", x}}, lengths)["y"], 1e-6f);
  // A stream: 4 steps, then 3, the state carried through one file.
  io::write_npy(work_dir() / "s_a.npy", rnngraph::testing::rows(x, 0, 4));
  io::write_npy(work_dir() / "s_b.npy", rnngraph::testing::rows(x, 4, 7));
  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("run s.json --input s_a.npy --state-out st.safetensors -o s_ya.npy").code, 0);
  const Outcome second = rnngraph_cli(
      "run s.json --input s_b.npy --state-in st.safetensors --state-out st.safetensors -o "
      "s_yb.npy");
  BOOST_REQUIRE_MESSAGE(second.code == 0, second.err);
  const Tensor whole = model.run({{"x", x}})["y"].clone();
  rnngraph::testing::check_close(io::read_npy(work_dir() / "s_yb.npy"),
                                 rnngraph::testing::rows(whole, 4, 7), 1e-5f);
  const io::TensorMap state = io::read_safetensors(work_dir() / "st.safetensors");
  rnngraph::testing::check_close(state.at("h_n"), model.run({{"x", x}})["h_n"], 1e-5f);
  BOOST_CHECK(state.at("c_n").shape() == Shape({2, 2, 4}));
  // grad unrolls a model file for its input too.
  const Outcome g = rnngraph_cli("grad s.json --input s_x.npy -o s_g.safetensors");
  BOOST_REQUIRE_MESSAGE(g.code == 0, g.err);
  BOOST_CHECK(io::read_safetensors(work_dir() / "s_g.safetensors").at("W_f_l1").shape() ==
              Shape({8, 4}));
  // Bad lengths and flag mixes: exit 2, nothing written.
  io::write_npy(work_dir() / "s_bad1.npy", Tensor::from({3}, std::vector<float>{7, 3, 1}));
  io::write_npy(work_dir() / "s_bad2.npy", Tensor::from({2}, std::vector<float>{0, 3}));
  io::write_npy(work_dir() / "s_bad3.npy", Tensor::from({2}, std::vector<float>{8, 3}));
  io::write_npy(work_dir() / "s_bad4.npy", Tensor::from({2}, std::vector<float>{2.5f, 3}));
  expect_rejected("run s.json --input s_x.npy --lengths s_bad1.npy -o o.npy",
                  "3 lengths for a batch of 2", {"o.npy"});
  expect_rejected("run s.json --input s_x.npy --lengths s_bad2.npy -o o.npy",
                  "length 0 is not a whole number between 1 and the 7 steps", {"o.npy"});
  expect_rejected("run s.json --input s_x.npy --lengths s_bad3.npy -o o.npy", "length 8",
                  {"o.npy"});
  expect_rejected("run s.json --input s_x.npy --lengths s_bad4.npy -o o.npy", "length 2.5",
                  {"o.npy"});
  expect_rejected("run s.json --input s_x.npy --state-in st.safetensors --h0 s_x.npy -o o.npy",
                  "not with --h0 or --c0", {"o.npy"});
  expect_rejected("run s.json --input s_x.npy --state-in missing.safetensors -o o.npy",
                  "missing.safetensors", {"o.npy"});
}

BOOST_AUTO_TEST_CASE(bidirectional_models_from_the_command_line) {
  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("build gru --input-size 3 --hidden-size 4 --layers 2 --bidirectional -o bi.json")
          .code,
      0);
  const Tensor x = init::normal(0, 1, 9).tensor({6, 3, 3});
  io::write_npy(work_dir() / "bi_x.npy", x);
  io::write_npy(work_dir() / "bi_len.npy", Tensor::from({3}, std::vector<float>{6, 2, 4}));
  const Outcome r = rnngraph_cli("run bi.json --input bi_x.npy --lengths bi_len.npy -o bi_y.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  models::Model model = models::Model::load(work_dir() / "bi.json");
  BOOST_CHECK(model.config().bidirectional);
  const std::vector<int64_t> lengths{6, 2, 4};
  const Tensor& expected = model.run({{"x", x}}, lengths)["y"];
  BOOST_CHECK(expected.shape() == Shape({6, 3, 8}));  // both directions side by side
  rnngraph::testing::check_close(io::read_npy(work_dir() / "bi_y.npy"), expected, 1e-6f);
  const Outcome info = rnngraph_cli("info bi.json");
  BOOST_CHECK(info.out.find("bidirectional") != std::string::npos);
  BOOST_CHECK(info.out.find("W_r_l1_reverse [12, 4]") != std::string::npos);
  expect_rejected("run bi.json --input bi_x.npy --state-out bis.safetensors",
                  "a bidirectional model cannot stream", {"bis.safetensors"});
}

BOOST_AUTO_TEST_CASE(info_dot_and_demo) {
  BOOST_REQUIRE_EQUAL(
      rnngraph_cli("build lstm --input-size 2 --hidden-size 3 --steps 4 --layers 2 -o i.json").code,
      0);
  const Outcome info = rnngraph_cli("info i.json");
  BOOST_CHECK_EQUAL(info.code, 0);
  const io::GraphFile file = models::load_file(work_dir() / "i.json");
  BOOST_CHECK(info.out.find(fmt::format("arena bytes: {}\n", Plan(*file.graph).arena_bytes())) !=
              std::string::npos);
  BOOST_CHECK(info.out.find("W_f_l1     [6, 3]") != std::string::npos);
  BOOST_CHECK(info.out.find("sigmoid    24") != std::string::npos);  // 3 gates x 4 steps x 2 layers

  for (const char* view : {"blocks", "unrolled", "rolled", "cell"}) {
    const Outcome r =
        rnngraph_cli(fmt::format("dot i.json -o i_{}.png --view {} --steps-shown 3", view, view));
    BOOST_CHECK_MESSAGE(r.code == 0, r.err);
    BOOST_CHECK(io::read_file(work_dir() / fmt::format("i_{}.png", view)).starts_with("\x89PNG"));
  }
  BOOST_CHECK_EQUAL(rnngraph_cli("dot i.json -o i.dot").code, 0);
  BOOST_CHECK(io::read_file(work_dir() / "i.dot").starts_with("digraph rnngraph {"));
  BOOST_CHECK(io::read_file(work_dir() / "i.dot").find("fillcolor=\"#b7e1cd\"") !=
              std::string::npos);  // model graphs default to the block view
  const Outcome grad = rnngraph_cli("dot i.json -o i_grad.svg --view unrolled --grad");
  BOOST_CHECK_MESSAGE(grad.code == 0, grad.err);
  BOOST_CHECK(io::read_file(work_dir() / "i_grad.svg").find("backward") != std::string::npos);
  expect_rejected("dot i.json -o g.svg --view cell --grad", "unrolled and rolled views", {"g.svg"});
  // Gradient flow from a run.
  io::write_npy(work_dir() / "ix.npy", init::normal(0, 1, 5).tensor({4, 1, 2}));
  const Outcome flow = rnngraph_cli("dot i.json -o i_flow.svg --view gradflow --input ix.npy");
  BOOST_CHECK_MESSAGE(flow.code == 0, flow.err);
  BOOST_CHECK(io::read_file(work_dir() / "i_flow.svg").find("∂L/∂h") != std::string::npos);
  expect_rejected("dot i.json -o g.svg --view gradflow", "needs --input", {"g.svg"});
  expect_rejected("dot i.json -o g.svg --view gradflow --input ix.npy --loss mse",
                  "--loss mse needs --target", {"g.svg"});
  expect_rejected("dot i.json -o g.svg --view gradflow --input ix.npy --loss max",
                  "--loss must be sum, mse or last", {"g.svg"});
  expect_rejected("dot i.json -o g.svg --input ix.npy", "goes with --view gradflow", {"g.svg"});
  expect_rejected("dot i.json -o g.svg --view sideways", "unknown view", {"g.svg"});
  expect_rejected("dot i.json -o g.gif", "diagrams are .dot, .svg, .png or .pdf", {"g.gif"});

  const Outcome demo = rnngraph_cli("demo --out demo-out");
  BOOST_REQUIRE_MESSAGE(demo.code == 0, demo.err);
  BOOST_CHECK(demo.out.find("h3 = [") != std::string::npos);
  BOOST_CHECK(demo.out.find("trained an LSTM") != std::string::npos);
  for (const char* name :
       {"rnn.json", "rnn_unrolled.png", "rnn_rolled.svg", "lstm_cell.png", "lstm.safetensors",
        "lstm_rolled_grad.png", "sine_loss.svg", "sine_lstm.json", "sine_lstm.safetensors"})
    BOOST_CHECK_MESSAGE(fs::exists(work_dir() / "demo-out" / name), name);
  // What it says it wrote is what it wrote: the count, each file listed, each diagram twice
  int written = 0;
  for (const auto& entry : fs::directory_iterator(work_dir() / "demo-out")) {
    ++written;
    const std::string name = entry.path().filename().string();
    BOOST_CHECK_MESSAGE(demo.out.find("demo-out/" + name + "\n") != std::string::npos,
                        name << " is not listed");
    if (entry.path().extension() == ".svg" && name != "sine_loss.svg")
      BOOST_CHECK_MESSAGE(fs::exists(fs::path(entry.path()).replace_extension(".png")),
                          name << " has no PNG");
  }
  BOOST_CHECK_MESSAGE(demo.out.find(fmt::format("wrote {} files", written)) != std::string::npos,
                      demo.out);
  // The loss curve: a standalone SVG document with its axes labelled
  const std::string curve = io::read_file(work_dir() / "demo-out" / "sine_loss.svg");
  BOOST_CHECK(curve.starts_with("<?xml version=\"1.0\""));
  for (const char* tick : {">1</text>", ">100</text>", ">400</text>", ">0.01</text>"})
    BOOST_CHECK_MESSAGE(curve.find(tick) != std::string::npos, tick);
}

BOOST_AUTO_TEST_CASE(bench_reports_timings) {
  const Outcome r = rnngraph_cli(
      "bench gru --batch 2 --input-size 3 --hidden-size 4 --steps 6 --layers 2 --repeat 3 --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto report = nlohmann::json::parse(r.out);
  BOOST_CHECK_EQUAL(report["cell"], "gru");
  BOOST_CHECK_EQUAL(report["steps"], 6);
  BOOST_CHECK_GT(report["median_ms"].get<double>(), 0.0);
  BOOST_CHECK_GE(report["median_ms"].get<double>(), report["min_ms"].get<double>());
  // a small model's input products: all 6 steps in one chunk
  BOOST_CHECK_EQUAL(report["hoisted_steps"], 6);
  const Outcome text =
      rnngraph_cli("bench rnn --batch 1 --input-size 2 --hidden-size 3 --steps 4 --repeat 2");
  BOOST_CHECK_EQUAL(text.code, 0);
  BOOST_CHECK(text.out.find("ms per forward") != std::string::npos);
  const Outcome train = rnngraph_cli(
      "bench lstm --batch 2 --input-size 2 --hidden-size 3 --steps 4 --repeat 2 --train --json");
  BOOST_REQUIRE_MESSAGE(train.code == 0, train.err);
  BOOST_CHECK(nlohmann::json::parse(train.out)["train"].get<bool>());
  BOOST_CHECK_EQUAL(nlohmann::json::parse(train.out)["hoisted_steps"], 0);
  const Outcome unrolled = rnngraph_cli(
      "bench lstm --batch 2 --input-size 2 --hidden-size 3 --steps 4 --repeat 2 --unrolled --json");
  BOOST_REQUIRE_MESSAGE(unrolled.code == 0, unrolled.err);
  BOOST_CHECK_EQUAL(nlohmann::json::parse(unrolled.out)["hoisted_steps"], 0);
  expect_rejected("bench lstm --batch 1 --input-size 2 --hidden-size 3 --steps 4 --threads 0",
                  "between");
  // The share of peak: of the float32 FMA limit measured on the same threads, so below 1.
  const double share = report["share_of_peak"].get<double>();
  BOOST_CHECK_MESSAGE(share > 0 && share < 1, "share of peak " << share);
  BOOST_CHECK_GT(report["peak_gflops"].get<double>(), report["gflops"].get<double>());
}

BOOST_AUTO_TEST_CASE(quantize_writes_an_int8_model_that_runs_forward_only) {
  Outcome r = rnngraph_cli("build gru --input-size 6 --hidden-size 32 --layers 2 -o q_f32.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* dtype : {"int8", "bf16"}) {
    r = rnngraph_cli(fmt::format("quantize q_f32.json --dtype {0} -o q_{0}.json", dtype));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    BOOST_CHECK_MESSAGE(r.out.find("of max |y|") != std::string::npos, r.out);
    BOOST_CHECK(rnngraph_cli(fmt::format("info q_{}.json", dtype))
                    .out.find(fmt::format("precision: {}", dtype)) != std::string::npos);
    // its diagram is the float32 structure, titled with the products' precision
    r = rnngraph_cli(fmt::format("dot q_{0}.json -o q_{0}.dot", dtype));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    BOOST_CHECK(io::read_file(work_dir() / fmt::format("q_{}.dot", dtype))
                    .find(fmt::format("products in {}", dtype)) != std::string::npos);
  }
  // run gives int8's (bf16's) y: close to float32's, not equal to it
  const Tensor x = init::normal(0, 1, 3).tensor({10, 4, 6});
  io::write_npy(work_dir() / "q_x.npy", x);
  for (const char* precision : {"f32", "int8", "bf16"}) {
    r = rnngraph_cli(
        fmt::format("run q_{}.json --input q_x.npy -o q_y_{}.npy", precision, precision));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  const Tensor y32 = io::read_npy(work_dir() / "q_y_f32.npy");
  const Tensor y8 = io::read_npy(work_dir() / "q_y_int8.npy");
  const auto d = rnngraph::testing::check_close(y8, y32, 0.03);  // |y| ≤ 1: 3% of max |y|
  BOOST_CHECK_GT(d.worst.error, 0.0);
  const auto d16 =
      rnngraph::testing::check_close(io::read_npy(work_dir() / "q_y_bf16.npy"), y32, 8e-3);
  BOOST_CHECK_GT(d16.worst.error, 0.0);
  // back to float32: the int8 file's weights as floats (q · scale; the original float32
  // weights are not in it), so near the float32 model's y, and run in float32
  r = rnngraph_cli("quantize q_int8.json --dtype f32 -o q_back.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  r = rnngraph_cli("run q_back.json --input q_x.npy -o q_y_back.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const Tensor y_back = io::read_npy(work_dir() / "q_y_back.npy");
  BOOST_CHECK_GT(rnngraph::testing::check_close(y_back, y32, 0.03).worst.error, 0.0);
  BOOST_CHECK_GT(rnngraph::testing::check_close(y_back, y8, 0.03).worst.error, 0.0);
  BOOST_CHECK_GT(std::filesystem::file_size(work_dir() / "q_back.safetensors"),
                 2 * std::filesystem::file_size(work_dir() / "q_int8.safetensors"));
  // forward only, and said so (matched on the reason: every message names its file, and the
  // file names hold the precision too)
  expect_rejected("grad q_int8.json --input q_x.npy -o q_g.safetensors", "quantized to int8",
                  {"q_g.safetensors"});
  expect_rejected("export q_int8.json -o q.onnx", "quantized to int8", {"q.onnx"});
  expect_rejected("train --task sine --model q_int8.json --iterations 1 --save q_t.json",
                  "quantized to int8", {"q_t.json"});
  expect_rejected("quantize q_f32.json --dtype int4 -o q_bad.json", "--dtype", {"q_bad.json"});
  expect_rejected("grad q_bf16.json --input q_x.npy -o q_g.safetensors", "quantized to bf16",
                  {"q_g.safetensors"});
  expect_rejected("export q_bf16.json -o q.onnx", "quantized to bf16", {"q.onnx"});
  expect_rejected("train --task sine --model q_bf16.json --iterations 1 --save q_t.json",
                  "quantized to bf16", {"q_t.json"});
  // a quantized training checkpoint (its recipe has a task) is not resumed either
  r = rnngraph_cli("train --task sine --model gru --hidden-size 8 --iterations 2 --save q_ck.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  r = rnngraph_cli("quantize q_ck.json --dtype int8 -o q_ck_int8.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  expect_rejected("train --resume q_ck_int8.json --iterations 1 --save q_r.json",
                  "quantized to int8", {"q_r.json"});
  r = rnngraph_cli(
      "bench lstm --batch 2 --input-size 3 --hidden-size 16 --steps 5 --repeat 2 --json "
      "--dtype int8");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto int8_report = nlohmann::json::parse(r.out);
  BOOST_CHECK_EQUAL(int8_report["dtype"], "int8");
  // integer work, against the int8 unit's limit
  BOOST_CHECK_EQUAL(int8_report["unit"], "GOP/s");
  BOOST_CHECK_GT(int8_report["peak_gflops"].get<double>(), int8_report["gflops"].get<double>());
  // bf16, against the unit its products run on (a chunk plan only where a layer has one: a
  // bf16 bench once failed planning an empty one)
  for (const char* cell : {"lstm", "gru"}) {
    r = rnngraph_cli(fmt::format(
        "bench {} --batch 2 --input-size 3 --hidden-size 16 --steps 5 --repeat 2 --json --dtype "
        "bf16",
        cell));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto bf16_report = nlohmann::json::parse(r.out);
    BOOST_CHECK_EQUAL(bf16_report["dtype"], "bf16");
    BOOST_CHECK_EQUAL(bf16_report["unit"], "GFLOP/s");
    BOOST_CHECK_GT(bf16_report["peak_gflops"].get<double>(), bf16_report["gflops"].get<double>());
  }
  expect_rejected(
      "bench lstm --batch 2 --input-size 3 --hidden-size 4 --steps 5 --train "
      "--dtype int8",
      "--dtype");
}

BOOST_AUTO_TEST_CASE(bench_times_a_model_file_in_its_own_precision) {
  Outcome r = rnngraph_cli(
      "build lstm --input-size 8 --hidden-size 64 --layers 2 --bidirectional --seed 2 -o "
      "bq_f32.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* dtype : {"int8", "bf16"}) {
    r = rnngraph_cli(fmt::format("quantize bq_f32.json --dtype {0} -o bq_{0}.json", dtype));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  for (const char* precision : {"f32", "int8", "bf16"}) {
    r = rnngraph_cli(
        fmt::format("bench bq_{}.json --batch 4 --steps 20 --repeat 3 --json", precision));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto report = nlohmann::json::parse(r.out);
    BOOST_CHECK_EQUAL(report["dtype"], precision);
    BOOST_CHECK_EQUAL(report["bidirectional"], true);
    BOOST_CHECK_EQUAL(report["input_size"], 8);
    // Both directions' products, by hand: 2 (multiply, add) · T · B · directions · the four
    // gates' [I + H, H] in layer 0 and [2H + H, H] in layer 1 (both directions' h below)
    const double flops = 2.0 * 20 * 4 * 2 * 4 * ((8 + 64) + (128 + 64)) * 64;
    const double counted = report["gflops"].get<double>() * report["median_ms"].get<double>() * 1e6;
    BOOST_CHECK_CLOSE(counted, flops, 2.0);
  }
  expect_rejected("bench bq_int8.json --batch 4 --steps 20 --dtype f32", "--dtype");
  expect_rejected("bench bq_f32.json --batch 4 --steps 20 --hidden-size 8", "--hidden-size");
  expect_rejected("bench bq_f32.json --batch 4 --steps 20 --train", "--train");
  expect_rejected("bench bq_f32.json --steps 20", "--batch");
  expect_rejected("bench no_such_model.json --batch 4 --steps 20", "no_such_model.json");
}

BOOST_AUTO_TEST_CASE(bench_peak_lists_every_unit) {
  const Outcome r = rnngraph_cli("bench peak --threads 1 --json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto peaks = nlohmann::json::parse(r.out);
  int present = 0;
  for (const char* unit : {"fma_avx2", "fma_avx512", "int8_avx2", "int8_vnni256", "int8_vnni512",
                           "bf16_avx512", "int8_amx", "bf16_amx"}) {
    BOOST_REQUIRE_MESSAGE(peaks.contains(unit), unit);
    if (peaks[unit].is_null()) continue;  // absent on this CPU
    ++present;
    BOOST_CHECK_GT(peaks[unit]["1"].get<double>(), 1.0);  // G(FL)OP/s: any vector unit does more
  }
  BOOST_TEST_MESSAGE(r.out << present << " unit(s) present");
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    BOOST_CHECK(!peaks["fma_avx2"].is_null());
  if (__builtin_cpu_supports("avx512f")) BOOST_CHECK(!peaks["fma_avx512"].is_null());
  // AMX's units where the library runs AMX (the CPU has it and the kernel lets us use it)
  if (kernels::best_isa() == kernels::Isa::Amx)
    BOOST_CHECK(!peaks["int8_amx"].is_null() && !peaks["bf16_amx"].is_null());
  // The wider float unit, where there is one, is at least as fast as the narrower.
  if (!peaks["fma_avx512"].is_null())
    BOOST_CHECK_GT(peaks["fma_avx512"]["1"].get<double>(),
                   0.9 * peaks["fma_avx2"]["1"].get<double>());
  const Outcome text = rnngraph_cli("bench peak --threads 1");
  BOOST_CHECK(text.out.find("fma_avx2") != std::string::npos);
}

// What PyTorch and numpy users type: numpy's default dtypes, batch-first arrays, PyTorch's
// option names, greedy decoding, and the files that sit beside a model.
BOOST_AUTO_TEST_CASE(pytorch_and_numpy_habits) {
  using rnngraph::testing::npy;
  auto write = [](const std::string& name, const std::string& bytes) {
    std::ofstream(work_dir() / name, std::ios::binary) << bytes;
  };
  BOOST_REQUIRE_EQUAL(rnngraph_cli("build lstm --input-size 3 --hidden-size 4 -o h.json").code, 0);
  const Tensor x = init::normal(0, 1, 21).tensor({5, 2, 3});
  io::write_npy(work_dir() / "h_x.npy", x);
  Outcome r = rnngraph_cli("run h.json --input h_x.npy -o h_y.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const Tensor y = io::read_npy(work_dir() / "h_y.npy");
  // float64 as numpy saves it: read as float32; a note only where values were rounded
  std::vector<double> exact(x.values().begin(), x.values().end()), finer = exact;
  for (double& v : finer) v += 1e-12;
  write("h_x64.npy", npy<double>("<f8", {5, 2, 3}, exact));
  write("h_x64_finer.npy", npy<double>("<f8", {5, 2, 3}, finer));
  r = rnngraph_cli("run h.json --input h_x64.npy -o h_y64.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK_MESSAGE(r.err.find("rounded") == std::string::npos, r.err);
  rnngraph::testing::check_close(io::read_npy(work_dir() / "h_y64.npy"), y, 0.0);
  r = rnngraph_cli("run h.json --input h_x64_finer.npy -o h_y64.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK_MESSAGE(r.err.find("float64 values rounded to float32") != std::string::npos, r.err);
  // batch first: [B, T, I] in, [B, T, H] out, the same numbers
  Tensor x_bf({2, 5, 3}), y_bf({2, 5, 4});
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t i = 0; i < 3; ++i) x_bf.at({b, t, i}) = x.at({t, b, i});
      for (int64_t h = 0; h < 4; ++h) y_bf.at({b, t, h}) = y.at({t, b, h});
    }
  io::write_npy(work_dir() / "h_xbf.npy", x_bf);
  r = rnngraph_cli("run h.json --input h_xbf.npy --batch-first -o h_ybf.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  rnngraph::testing::check_close(io::read_npy(work_dir() / "h_ybf.npy"), y_bf, 0.0);
  // PyTorch's names and typos: the nearest valid option
  expect_rejected("build lstm --input-size 3 --hidden-size 4 --num-layers 2 -o h2.json",
                  "did you mean --layers?", {"h2.json"});
  expect_rejected("build lstm --input_size 3 --hidden-size 4 -o h2.json",
                  "did you mean --input-size?", {"h2.json"});
  expect_rejected("run h.json --imput h_x.npy", "did you mean --input?");
  expect_rejected("run h.json --input h_x.npy --zzzzzz", "--help lists the options");
  // the files beside a model, and names that promise another format
  expect_rejected("info h.safetensors", "pass the model's .json");
  expect_rejected("export h.json -o h.pt", ".safetensors", {"h.pt"});
  // a state file of another batch: named, with the shape it needed
  r = rnngraph_cli("run h.json --input h_x.npy --state-out h_s.safetensors -o h_y.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  io::write_npy(work_dir() / "h_x3.npy", init::normal(0, 1, 22).tensor({2, 3, 3}));
  expect_rejected("run h.json --input h_x3.npy --state-in h_s.safetensors",
                  "h_s.safetensors's h_n is [1, 2, 4]; the model and the input's batch of 3 "
                  "need [1, 3, 4]");
  // a memory limit below what a file needs: sizes in readable units, the file not blamed
  const Outcome small = rnngraph_cli("run h.json --input h_x.npy --max-memory 1K");
  BOOST_CHECK_EQUAL(small.code, 2);
  BOOST_CHECK_MESSAGE(small.err.find("(1.0 KiB)") != std::string::npos, small.err);
  BOOST_CHECK_MESSAGE(small.err.find("inconsistent") == std::string::npos, small.err);
  // --version
  r = rnngraph_cli("--version");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK_MESSAGE(r.out.starts_with("rnngraph 0."), r.out);
  // the kernels' cap: a level caps them; a value that names none is refused, not ignored
  r = rnngraph::testing::run_cli(work_dir(), "--version", "RNNGRAPH_MAX_ISA=portable");
  BOOST_CHECK_MESSAGE(r.out.find("kernels: portable") != std::string::npos, r.out);
  r = rnngraph::testing::run_cli(work_dir(), "--version", "RNNGRAPH_MAX_ISA=avx-2");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(
      r.err.find("RNNGRAPH_MAX_ISA='avx-2' names no instruction set") != std::string::npos, r.err);
  // greedy decoding, and a prime character shown as itself
  {
    std::ofstream text((work_dir() / "h_text.txt").string());
    for (int i = 0; i < 30; ++i) text << "abcab cab\n";
  }
  r = rnngraph_cli(
      "train --task text --text h_text.txt --model lstm --hidden-size 8 --steps 8 --batch 4 "
      "--iterations 5 --save h_t.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const Outcome greedy = rnngraph_cli("sample h_t.json --length 20 --temperature 0 --seed 1");
  BOOST_REQUIRE_MESSAGE(greedy.code == 0, greedy.err);
  BOOST_CHECK_EQUAL(rnngraph_cli("sample h_t.json --length 20 --temperature 0 --seed 2").out,
                    greedy.out);  // no draw: the seed changes nothing
  expect_rejected("sample h_t.json --length 3 --prime 'ab['", "--prime holds '['");
  // int64 token ids, as numpy saves them
  write("h_ids.npy", npy<int64_t>("<i8", {4, 1}, {0, 1, 2, 3}));
  r = rnngraph_cli("run h_t.json --input h_ids.npy -o h_logits.npy");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  BOOST_CHECK_EQUAL(io::read_npy(work_dir() / "h_logits.npy").shape().str(),
                    "[4, 1, 5]");  // 5 symbols: \n, space, a, b, c
}

BOOST_AUTO_TEST_SUITE_END()
