// ONNX export and import. Suite onnx_io: the exported files pass libonnx's checker and say what the
// contract says; PyTorch-exported models (tests/fixtures/make_torch_onnx.py) import and compute
// PyTorch's outputs; bad files and unsupported graphs are typed errors. Suite onnx_runtime: the
// exported files run in ONNX Runtime (npm's onnxruntime-node 1.20.1, through
// tests/onnx/run_ort.js) with outputs equal to rnngraph's; it needs node, so CTest runs it through
// tests/onnx/ort_test.sh, which reports a skip when node is missing (a failure under CI=true).
#include <cstdlib>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/onnx/onnx.h>
#include <rnngraph/ops/ops.h>

#include "custom_cells.h"
#include "helpers.h"

// The parsed model, to look inside exported files.
#include <onnx/onnx_pb.h>

namespace {

using namespace rnngraph;
using rnngraph::testing::check_close;
using rnngraph::testing::fixture;
using rnngraph::testing::scratch_dir;
namespace fs = std::filesystem;

Tensor random(const Shape& shape, uint64_t seed) {
  return init::uniform(-1, 1, seed).tensor(shape);
}

models::Config config(models::Cell cell, int64_t layers, bool bidirectional) {
  models::Config c;
  c.cell = cell;
  c.input_size = 3;
  c.hidden_size = 5;
  c.layers = layers;
  c.bidirectional = bidirectional;
  c.seed = 7 + uint64_t(layers) * 3 + (bidirectional ? 1 : 0);
  return c;
}

// Random feeds for a model at [T, B]: x (or tokens), h0, c0.
Feeds model_feeds(const models::Config& c, int64_t T, int64_t B, uint64_t seed) {
  Feeds feeds;
  const int64_t states = c.layers * models::directions(c);
  if (c.tokens == models::TokenInput::None) {
    feeds["x"] = random({T, B, c.input_size}, seed);
  } else {
    Tensor ids({T, B});
    for (int64_t i = 0; i < ids.numel(); ++i)
      ids.data()[i] = float((i * 7 + int64_t(seed)) % c.vocab_size);
    feeds["tokens"] = ids;
  }
  uint64_t next = seed;
  for (const models::StateVariable& s : models::model_state(c))
    feeds[s.name + "0"] = random({states, B, s.size}, ++next);
  return feeds;
}

::onnx::ModelProto parse(const std::string& bytes) {
  ::onnx::ModelProto m;
  BOOST_REQUIRE(m.ParseFromString(bytes));
  return m;
}

std::vector<std::string> op_types(const ::onnx::ModelProto& m) {
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
  return ops;
}

std::string dims_of(const ::onnx::ValueInfoProto& v) {
  std::string s;
  for (const auto& d : v.type().tensor_type().shape().dim())
    s += (s.empty() ? "" : ",") +
         (d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
  return v.name() + "[" + s + "]";
}

// ---- ONNX Runtime: cases collected, run in one node process, compared afterwards ----------

struct OrtInput {
  std::string name, type;
  std::vector<int64_t> dims;
  std::string bytes;
};

OrtInput float_input(const std::string& name, const Tensor& t) {
  return {name,
          "float32",
          {t.shape().dims().begin(), t.shape().dims().end()},
          std::string(reinterpret_cast<const char*>(t.data()), std::size_t(t.numel()) * 4)};
}

template <class Int>
OrtInput int_input(const std::string& name, const Tensor& t) {
  std::vector<Int> values(t.values().begin(), t.values().end());
  return {name,
          sizeof(Int) == 8 ? "int64" : "int32",
          {t.shape().dims().begin(), t.shape().dims().end()},
          std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(Int))};
}

struct OrtCase {
  std::string label;
  std::string model;  // serialized
  std::vector<OrtInput> inputs;
  std::map<std::string, Tensor> expected;
};

// The node that runs ONNX Runtime (tests/onnx/ort_test.sh sets it for ctest).
std::string node_program() {
  const char* node = std::getenv("RNNGRAPH_NODE");
  BOOST_REQUIRE_MESSAGE(
      node && *node,
      "RNNGRAPH_NODE is not set: run this suite through ctest (tests/onnx/ort_test.sh)");
  return node;
}

// Runs every case in ONNX Runtime and checks each output against rnngraph's to 1e-5.
void run_in_onnx_runtime(const std::vector<OrtCase>& cases, const std::string& suite) {
  const std::string node = node_program();
  const fs::path dir = scratch_dir(suite);
  nlohmann::json manifest{{"cases", nlohmann::json::array()}};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path d = dir / std::to_string(i);
    fs::create_directories(d);
    std::ofstream((d / "model.onnx").string(), std::ios::binary) << cases[i].model;
    nlohmann::json inputs = nlohmann::json::array();
    for (const OrtInput& in : cases[i].inputs) {
      const fs::path file = d / (in.name + ".in");
      std::ofstream(file.string(), std::ios::binary) << in.bytes;
      inputs.push_back(
          {{"name", in.name}, {"type", in.type}, {"dims", in.dims}, {"file", file.string()}});
    }
    manifest["cases"].push_back(
        {{"model", (d / "model.onnx").string()}, {"out", d.string()}, {"inputs", inputs}});
  }
  std::ofstream((dir / "cases.json").string()) << manifest.dump();
  const std::string command = fmt::format("'{}' '{}' '{}' > '{}' 2> '{}'", node,
                                          RNNGRAPH_ORT_SCRIPT, (dir / "cases.json").string(),
                                          (dir / "ort.out").string(), (dir / "ort.err").string());
  const int status = std::system(command.c_str());
  BOOST_REQUIRE_MESSAGE(status == 0, "ONNX Runtime failed: " << io::read_file(dir / "ort.err"));
  const nlohmann::json results = nlohmann::json::parse(io::read_file(dir / "ort.out"));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    BOOST_TEST_CONTEXT(cases[i].label) {
      const nlohmann::json& outputs = results["cases"][i]["outputs"];
      for (const auto& [name, expected] : cases[i].expected) {
        BOOST_TEST_CONTEXT("output " << name) {
          BOOST_REQUIRE(outputs.contains(name));
          const std::vector<int64_t> dims = outputs[name]["dims"];
          BOOST_REQUIRE_EQUAL(Shape(std::span<const int64_t>(dims)).str(), expected.shape().str());
          const std::string bytes = io::read_file(outputs[name]["file"].get<std::string>());
          BOOST_REQUIRE_EQUAL(bytes.size(), std::size_t(expected.numel()) * 4);
          Tensor got(expected.shape());
          std::memcpy(got.data(), bytes.data(), bytes.size());
          check_close(got, expected, 1e-5f);
        }
      }
    }
  }
}

// A model exported and run by rnngraph on random feeds (with lengths when given).
OrtCase model_case(const std::string& label, models::Model& m, int64_t T, int64_t B,
                   std::vector<int64_t> lengths = {}) {
  const models::Config& c = m.config();
  const Feeds feeds = model_feeds(c, T, B, uint64_t(T * 31 + B));
  OrtCase out{
      label, rnngraph::onnx::export_model(c, m.weights(), {.lengths = !lengths.empty()}), {}, {}};
  const Results& r = m.run(feeds, lengths);
  for (const auto& [name, t] : feeds)
    out.inputs.push_back(name == "tokens" ? int_input<int64_t>(name, t) : float_input(name, t));
  if (!lengths.empty()) {
    Tensor l({B});
    for (int64_t b = 0; b < B; ++b) l.data()[b] = float(lengths[std::size_t(b)]);
    out.inputs.push_back(int_input<int32_t>("lengths", l));
  }
  out.expected.emplace("y", r["y"].clone());
  for (const models::StateVariable& s : models::model_state(c))
    out.expected.emplace(s.name + "_n", r[s.name + "_n"].clone());
  return out;
}

// The seed's RNN built by hand (concat, matmul, add, tanh, stack) with its backward graph, and
// one node of every other op that has an ONNX form.
void hand_built(Graph& g) {
  const int64_t T = 3, B = 2, I = 3, H = 4;
  const Value x = g.input("x", {T, B, I});
  const Value W = g.parameter("W", {H + I, H}, init::uniform(-0.5f, 0.5f, 1));
  const Value b = g.parameter("b", {1, H}, init::uniform(-0.5f, 0.5f, 2));
  Value h = g.input("h0", {B, H});
  std::vector<Value> hs;
  for (int64_t t = 0; t < T; ++t) {
    auto step = g.step(t);
    h = tanh(matmul(concat({h, x[t]}, 1), W) + b);
    hs.push_back(h);
  }
  const Value y = stack(hs);
  g.output("y", y);
  const Value loss = sum(y * y) * 0.5f;
  const Value wrt[] = {W, b, x};
  const std::vector<Value> grads = grad(loss, wrt);
  g.output("dW", grads[0]);
  g.output("db", grads[1]);
  g.output("dx", grads[2]);
  // The rest: softmax, logsumexp, mean, exp, log, sigmoid, slice, pad, reshape, broadcast_to,
  // sum_to, one_hot, gather, sub, div, layer_norm, and a matmul with transposes.
  const Value last = hs.back();                       // [B, H]
  const Value logits = matmul(last, W, false, true);  // [B, H + I]
  const Value p = softmax(logits, -1);
  const Value ids = g.constant("ids", Tensor({B, 1}, {2, 5}));
  g.output("picked", gather(p, ids));
  g.output("lse", logsumexp(logits, 1) - mean(logits, 1));
  g.output("hot", one_hot(reshape(ids, {B}), H + I) * sigmoid(logits));
  g.output("mix", pad(slice(exp(last), 1, 1, 3), 1, 0, H) + log(sigmoid(last)));
  g.output("ratio", last / (exp(last) + 1.0f));
  g.output("normed", layer_norm(last));
  g.output("spread", sum_to(broadcast_to(b, {B, H}) * last, {1, H}) + mean(last) + sum(last, 0));
  g.output("tt", matmul(last, last, true, false));
  g.output("second", select(reshape(last, {B * H}), 1));  // a rank-1 select: [1]
}

}  // namespace

BOOST_AUTO_TEST_SUITE(onnx_io)

BOOST_AUTO_TEST_CASE(model_export_is_checked_and_follows_the_contract) {
  for (auto cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
    for (int64_t layers : {1, 2})
      for (bool bi : {false, true})
        for (bool lengths : {false, true}) {
          const models::Config c = config(cell, layers, bi);
          BOOST_TEST_CONTEXT(to_string(cell) << " L" << layers << (bi ? " bi" : "")
                                             << (lengths ? " lengths" : "")) {
            const std::string bytes =
                rnngraph::onnx::export_model(c, models::Model(c).weights(), {.lengths = lengths});
            BOOST_CHECK_NO_THROW(rnngraph::onnx::check(bytes));
            const ::onnx::ModelProto m = parse(bytes);
            BOOST_CHECK_EQUAL(m.opset_import(0).version(), 17);
            const std::vector<std::string> ops = op_types(m);
            const std::string op = cell == models::Cell::Rnn    ? "RNN"
                                   : cell == models::Cell::Lstm ? "LSTM"
                                                                : "GRU";
            BOOST_CHECK_EQUAL(std::count(ops.begin(), ops.end(), op), layers);  // one op per layer
            const int64_t D = bi ? 2 : 1, LD = layers * D;
            std::vector<std::string> inputs, outputs;
            for (const auto& v : m.graph().input()) inputs.push_back(dims_of(v));
            for (const auto& v : m.graph().output()) outputs.push_back(dims_of(v));
            std::vector<std::string> want_in{"x[T,B,3]", fmt::format("h0[{},B,5]", LD)};
            std::vector<std::string> want_out{fmt::format("y[T,B,{}]", 5 * D),
                                              fmt::format("h_n[{},B,5]", LD)};
            if (cell == models::Cell::Lstm) {
              want_in.push_back(fmt::format("c0[{},B,5]", LD));
              want_out.push_back(fmt::format("c_n[{},B,5]", LD));
            }
            if (lengths) want_in.push_back("lengths[B]");
            BOOST_CHECK_EQUAL(fmt::format("{}", fmt::join(inputs, " ")),
                              fmt::format("{}", fmt::join(want_in, " ")));
            BOOST_CHECK_EQUAL(fmt::format("{}", fmt::join(outputs, " ")),
                              fmt::format("{}", fmt::join(want_out, " ")));
            if (lengths)
              BOOST_CHECK_EQUAL(
                  m.graph().input(int(want_in.size()) - 1).type().tensor_type().elem_type(),
                  int(::onnx::TensorProto::INT32));
            for (const auto& n : m.graph().node())
              if (n.op_type() == "GRU") {
                bool lbr = false;
                for (const auto& a : n.attribute())
                  lbr |= a.name() == "linear_before_reset" && a.i() == 1;
                BOOST_CHECK(lbr);
              }
          }
        }
}

BOOST_AUTO_TEST_CASE(gate_order_and_bias_layout) {
  // An LSTM whose every weight names its gate: W_i = 1, W_f = 2, W_c = 3, W_o = 4 (and the
  // biases 10×): ONNX's W must hold them in the order i, o, f, c, and B = [input | hidden].
  models::Config c = config(models::Cell::Lstm, 1, false);
  io::TensorMap w = models::Model(c).weights();
  const std::map<std::string, float> gate{{"i", 1}, {"f", 2}, {"c", 3}, {"o", 4}};
  for (const auto& [g, v] : gate) {
    for (float& x : w.at("W_" + g + "_l0").values()) x = v;
    for (float& x : w.at("b_" + g + "_l0").values()) x = 10 * v;
  }
  const ::onnx::ModelProto m = parse(rnngraph::onnx::export_model(c, w));
  std::map<std::string, Tensor> init;
  for (const auto& t : m.graph().initializer())
    if (t.data_type() == ::onnx::TensorProto::FLOAT) {
      Tensor v(
          Shape(std::span<const int64_t>(std::vector<int64_t>(t.dims().begin(), t.dims().end()))));
      std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
      init.emplace(t.name(), v);
    }
  const int64_t H = 5, I = 3;
  const float order[] = {1, 4, 2, 3};  // i, o, f, c
  for (int p = 0; p < 4; ++p) {
    BOOST_CHECK_EQUAL(init.at("W_l0").data()[p * H * I], order[p]);
    BOOST_CHECK_EQUAL(init.at("R_l0").data()[p * H * H], order[p]);
    BOOST_CHECK_EQUAL(init.at("B_l0").data()[p * H], 10 * order[p]);  // the summed bias in Wb
    BOOST_CHECK_EQUAL(init.at("B_l0").data()[4 * H + p * H], 0.0f);   // and zeros in Rb
  }
}

BOOST_AUTO_TEST_CASE(hand_built_graph_exports_as_plain_ops) {
  Graph g;
  hand_built(g);
  const std::string bytes = rnngraph::onnx::export_graph(g);
  BOOST_CHECK_NO_THROW(rnngraph::onnx::check(bytes));
  const std::vector<std::string> ops = op_types(parse(bytes));
  for (const char* op :
       {"Gemm", "Concat", "Add", "Tanh", "Mul", "Softmax", "GatherElements", "OneHot", "Pad",
        "Slice", "Expand", "ReduceSum", "ReduceMean", "ReduceLogSumExp"})
    BOOST_CHECK_MESSAGE(std::count(ops.begin(), ops.end(), op) > 0, "no " << op);
  for (int opset = rnngraph::onnx::kMinOpset; opset <= rnngraph::onnx::kMaxOpset; ++opset)
    BOOST_CHECK_NO_THROW(rnngraph::onnx::check(rnngraph::onnx::export_graph(g, {.opset = opset})));
}

// Every registered op has an ONNX form that the hand-built graph exercises (so the checker and
// ONNX Runtime see it), or is one of the fused ops the passes make (the int8 and bf16 products
// too),
// which export refuses: an exported graph is one before passes. A new op fails here until it has an
// emitter or is marked.
BOOST_AUTO_TEST_CASE(every_registered_op_exports_or_is_marked_fused) {
  const std::set<std::string> fused{
      "lstm_cell",        "lstm_cell_grad", "lstm_gates_grad", "lstm_hidden",  "lstm_hidden_grad",
      "gru_cell",         "gru_cell_grad",  "matmul_packed",   "pack_columns", "matmul_int8",
      "quantize_columns", "matmul_bf16",    "pack_bf16"};
  Graph g;
  hand_built(g);
  std::set<std::string> exported;
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Op) exported.insert(std::string(n.op->name()));
  int count = 0;
  for (const Op* op : all_ops()) {
    const std::string name(op->name());
    BOOST_CHECK_MESSAGE(exported.contains(name) != fused.contains(name),
                        "op '" << name << "': "
                               << (fused.contains(name) ? "marked fused but exported"
                                                        : "neither in the hand-built export nor "
                                                          "marked fused"));
    count += exported.contains(name);
  }
  BOOST_TEST_MESSAGE(count << " ops exported by the hand-built graph, " << fused.size()
                           << " fused ops refused");
}

BOOST_AUTO_TEST_CASE(unsupported_exports_are_graph_errors) {
  Graph g;
  const Value a = g.input("a", {2, 4});
  const Value c = g.input("c", {2, 1});
  const Value terms[] = {a};
  g.output("c_next", lstm_cell(terms, c));
  BOOST_CHECK_EXCEPTION(rnngraph::onnx::export_graph(g), GraphError, [](const GraphError& e) {
    const std::string m = e.what();
    return m.find("lstm_cell") != std::string::npos && m.find("[2, 4]") != std::string::npos;
  });
  // Streaming by hand: input "h", output "h" (the next state) are two values with one name.
  Graph s;
  const Value h = s.input("h", {1, 2});
  s.output("h", tanh(h));
  BOOST_CHECK_THROW(rnngraph::onnx::export_graph(s), GraphError);
  const models::Config cfg = config(models::Cell::Gru, 1, false);
  BOOST_CHECK_THROW(rnngraph::onnx::export_model(cfg, models::Model(cfg).weights(), {.opset = 12}),
                    GraphError);
  BOOST_CHECK_THROW(rnngraph::onnx::export_model(cfg, {}, {}), GraphError);  // no weights
  io::TensorMap wrong = models::Model(cfg).weights();
  wrong.at("W_in_l0") = Tensor({2, 2});
  BOOST_CHECK_THROW(rnngraph::onnx::export_model(cfg, wrong), GraphError);
}

// PyTorch's torch.onnx.export of nn.LSTM / nn.GRU / nn.RNN, imported and run at another shape
// than it was exported at (T = 7, B = 3): PyTorch's outputs, and PyTorch's weights.
BOOST_AUTO_TEST_CASE(import_of_pytorch_exports_matches_pytorch) {
  for (const std::string name :
       {"lstm_L1", "lstm_L2", "lstm_L1_bi", "gru_L1", "gru_L2", "gru_L2_bi", "rnn_L2"}) {
    BOOST_TEST_CONTEXT(name) {
      const rnngraph::onnx::Imported imported =
          rnngraph::onnx::import_model(fixture("torch_onnx_" + name + ".onnx"));
      const io::TensorMap data =
          io::read_safetensors(fixture("torch_onnx_" + name + "_data.safetensors"));
      const models::Config& c = imported.config;
      BOOST_CHECK_EQUAL(c.layers, name.find("L2") != std::string::npos ? 2 : 1);
      BOOST_CHECK_EQUAL(c.bidirectional, name.ends_with("_bi"));
      BOOST_CHECK_EQUAL(c.input_size, 3);
      BOOST_CHECK_EQUAL(c.hidden_size, 4);
      // The weights are PyTorch's, through ONNX's gate order and back.
      io::TensorMap state;
      for (const auto& [key, t] : data)
        if (key.starts_with("weight_") || key.starts_with("bias_")) state.emplace(key, t);
      const io::TensorMap expected = models::from_torch_state(c, state);
      for (const auto& [key, t] : expected) check_close(imported.weights.at(key), t, 1e-6f);
      // And so are the outputs.
      models::Model m(c);
      for (const auto& [key, t] : imported.weights)
        std::memcpy(m.weights().at(key).data(), t.data(), std::size_t(t.numel()) * 4);
      Feeds feeds{{"x", data.at("x")}};
      for (const char* s : {"h0", "c0"})
        if (data.contains(s)) feeds.emplace(s, data.at(s));
      const Results& r = m.run(feeds);
      for (const char* out : {"y", "h_n", "c_n"})
        if (data.contains(out)) check_close(r[out], data.at(out), 1e-5f);
    }
  }
}

BOOST_AUTO_TEST_CASE(export_then_import_round_trips) {
  for (auto cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    const models::Config c = config(cell, 2, true);
    const models::Model m(c);
    const rnngraph::onnx::Imported back = rnngraph::onnx::import_bytes(
        rnngraph::onnx::export_model(c, m.weights(), {.lengths = true}), "round trip");
    BOOST_CHECK(back.config.cell == cell);
    BOOST_CHECK_EQUAL(back.config.layers, 2);
    BOOST_CHECK(back.config.bidirectional);
    for (const auto& [key, t] : m.weights()) check_close(back.weights.at(key), t, 0);
  }
}

BOOST_AUTO_TEST_CASE(bad_onnx_files_are_format_errors) {
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes("not a protobuf \x01\x02\xff", "junk"),
                    FormatError);
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes("", "empty"), FormatError);  // parses: no layers
  // A plain-op export is not a recurrent stack.
  Graph g;
  hand_built(g);
  BOOST_CHECK_EXCEPTION(rnngraph::onnx::import_bytes(rnngraph::onnx::export_graph(g), "plain"),
                        FormatError, [](const FormatError& e) {
                          return std::string(e.what()).find("not part of a stack") !=
                                 std::string::npos;
                        });
  // A trained model's output layer is more than a recurrent stack too.
  models::Config c = config(models::Cell::Lstm, 1, false);
  c.output_size = 2;
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes(
                        rnngraph::onnx::export_model(c, models::Model(c).weights()), "head"),
                    FormatError);
  // A GRU without linear_before_reset, an unsupported activation, weights truncated.
  const models::Config gru = config(models::Cell::Gru, 1, false);
  ::onnx::ModelProto m = parse(rnngraph::onnx::export_model(gru, models::Model(gru).weights()));
  auto mutate = [&](auto change) {
    ::onnx::ModelProto copy = m;
    for (auto& n : *copy.mutable_graph()->mutable_node())
      if (n.op_type() == "GRU") change(n, copy);
    std::string bytes;
    copy.SerializeToString(&bytes);
    return bytes;
  };
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes(mutate([](::onnx::NodeProto& n, auto&) {
                                                   for (auto& a : *n.mutable_attribute())
                                                     if (a.name() == "linear_before_reset")
                                                       a.set_i(0);
                                                 }),
                                                 "lbr"),
                    FormatError);
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes(mutate([](::onnx::NodeProto& n, auto&) {
                                                   auto* a = n.add_attribute();
                                                   a->set_name("activations");
                                                   a->set_type(::onnx::AttributeProto::STRINGS);
                                                   a->add_strings("Relu");
                                                   a->add_strings("Tanh");
                                                 }),
                                                 "relu"),
                    FormatError);
  BOOST_CHECK_THROW(
      rnngraph::onnx::import_bytes(mutate([](::onnx::NodeProto&, ::onnx::ModelProto& copy) {
                                     for (auto& t : *copy.mutable_graph()->mutable_initializer())
                                       if (t.name() == "W_l0") t.mutable_raw_data()->resize(8);
                                   }),
                                   "short"),
      FormatError);
  // A stored non-zero initial state, and a Slice of the layer's output (y[-1]): more than a stack.
  BOOST_CHECK_THROW(
      rnngraph::onnx::import_bytes(mutate([](::onnx::NodeProto& n, ::onnx::ModelProto& copy) {
                                     auto& t = *copy.mutable_graph()->add_initializer();
                                     t.set_name("stored_h0");
                                     t.set_data_type(::onnx::TensorProto::FLOAT);
                                     for (int64_t d : {1, 1, 5}) t.add_dims(d);
                                     for (int i = 0; i < 5; ++i) t.add_float_data(0.5f);
                                     n.set_input(5, "stored_h0");
                                   }),
                                   "stored state"),
      FormatError);
  {
    ::onnx::ModelProto picked = m;  // a Gather on the layer's Y: the last step, say
    const std::string Y = [&] {
      for (const auto& n : picked.graph().node())
        if (n.op_type() == "GRU") return n.output(0);
      return std::string();
    }();
    auto& last = *picked.mutable_graph()->add_node();
    last.set_op_type("Gather");
    last.add_input(Y);
    last.add_input("h0");
    last.add_output("picked");
    std::string bytes;
    picked.SerializeToString(&bytes);
    BOOST_CHECK_EXCEPTION(
        rnngraph::onnx::import_bytes(bytes, "y[-1]"), FormatError, [](const FormatError& e) {
          return std::string(e.what()).find("computes on a layer's output") != std::string::npos;
        });
  }
  // An absurd hidden_size with no B to check it against: refused before anything is allocated.
  BOOST_CHECK_THROW(rnngraph::onnx::import_bytes(mutate([](::onnx::NodeProto& n, auto&) {
                                                   n.set_input(3, "");
                                                   for (auto& a : *n.mutable_attribute())
                                                     if (a.name() == "hidden_size")
                                                       a.set_i(int64_t(1) << 40);
                                                 }),
                                                 "huge"),
                    FormatError);
}

BOOST_AUTO_TEST_CASE(cli_export_and_import) {
  const fs::path dir = scratch_dir("onnx_cli");
  using rnngraph::testing::run_cli;
  BOOST_REQUIRE_EQUAL(
      run_cli(dir, "build gru --input-size 3 --hidden-size 4 --layers 2 -o g.json").code, 0);
  auto r = run_cli(dir, "export g.json -o g.onnx --opset 15 --lengths");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK_NO_THROW(rnngraph::onnx::check(io::read_file(dir / "g.onnx")));
  BOOST_CHECK_EQUAL(parse(io::read_file(dir / "g.onnx")).opset_import(0).version(), 15);
  r = run_cli(dir, "import g.onnx -o back.json");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK_EQUAL(run_cli(dir, "info back.json").code, 0);
  // The PyTorch road: the weights as a state_dict, which maps back onto the same weights.
  BOOST_REQUIRE_EQUAL(run_cli(dir, "export g.json -o state.safetensors").code, 0);
  {
    const models::Model m = models::Model::load(dir / "g.json");
    const io::TensorMap back =
        models::from_torch_state(m.config(), io::read_safetensors(dir / "state.safetensors"));
    for (const auto& [key, t] : m.weights()) check_close(back.at(key), t, 1e-6f);
  }
  // A trained model's output layer as an nn.Linear: out.weight = W_outᵀ, out.bias = b_out.
  BOOST_REQUIRE_EQUAL(
      run_cli(dir, "train --task sine --model rnn --hidden-size 3 --iterations 2 --save t.json")
          .code,
      0);
  BOOST_REQUIRE_EQUAL(run_cli(dir, "export t.json -o t_state.safetensors").code, 0);
  {
    const models::Model m = models::Model::load(dir / "t.json");
    const io::TensorMap state = io::read_safetensors(dir / "t_state.safetensors");
    const Tensor &W = m.weights().at("W_out"), &Wt = state.at("out.weight");
    BOOST_REQUIRE_EQUAL(Wt.shape().str(), Shape({W.shape()[1], W.shape()[0]}).str());
    for (int64_t h = 0; h < W.shape()[0]; ++h)
      for (int64_t o = 0; o < W.shape()[1]; ++o)
        BOOST_CHECK_EQUAL(Wt.data()[o * W.shape()[0] + h], W.data()[h * W.shape()[1] + o]);
    check_close(state.at("out.bias"),
                Tensor::from({W.shape()[1]}, m.weights().at("b_out").values()), 0);
  }
  r = run_cli(dir, fmt::format("import '{}' -o torch.json", fixture("torch_onnx_lstm_L2.onnx")));
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(fs::exists(dir / "torch.json"));
  // Bad usage: exit 2, one line, nothing written.
  for (const char* args :
       {"export g.json -o bad.onnx --opset 18", "export g.json -o bad.onnx --opset 12",
        "export missing.json -o bad.onnx", "export g.json", "import g.json -o bad.json",
        "import missing.onnx -o bad.json", "export g.json -o bad.onnx --frobnicate",
        "export g.json -o bad.safetensors --lengths", "export g.json -o g.safetensors"}) {
    BOOST_TEST_CONTEXT(args) {
      r = run_cli(dir, args);
      BOOST_CHECK_EQUAL(r.code, 2);
      BOOST_CHECK_EQUAL(std::count(r.err.begin(), r.err.end(), '\n'), 1);
      for (const char* f : {"bad.onnx", "bad.json", "bad.safetensors"})
        BOOST_CHECK(!fs::exists(dir / f));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Disabled unless named (--run_test=onnx_runtime): it needs node and onnxruntime-node.
BOOST_AUTO_TEST_SUITE(onnx_runtime, *boost::unit_test::disabled())

BOOST_AUTO_TEST_CASE(models_run_in_onnx_runtime_as_in_rnngraph) {
  std::vector<OrtCase> cases;
  for (auto cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
    for (int64_t layers : {1, 2})
      for (bool bi : {false, true}) {
        models::Model m(config(cell, layers, bi));
        const std::string label = fmt::format("{} L{}{}", to_string(cell), layers, bi ? " bi" : "");
        for (auto [T, B] : {std::pair<int64_t, int64_t>{1, 1}, {5, 3}, {12, 2}})
          cases.push_back(model_case(fmt::format("{} T={} B={}", label, T, B), m, T, B));
        cases.push_back(model_case(label + " lengths 6,2,5,1", m, 6, 4, {6, 2, 5, 1}));
      }
  // Token input through an embedding, and an output layer on a bidirectional stack.
  models::Config tokens = config(models::Cell::Gru, 2, false);
  tokens.tokens = models::TokenInput::Embedding;
  tokens.vocab_size = 7;
  tokens.input_size = 4;
  tokens.output_size = 7;
  models::Model embedded(tokens);
  cases.push_back(model_case("gru embedding + output layer", embedded, 6, 3));
  cases.push_back(model_case("gru embedding + output layer, lengths", embedded, 6, 3, {6, 1, 4}));
  models::Config head = config(models::Cell::Lstm, 2, true);
  head.output_size = 3;
  models::Model headed(head);
  cases.push_back(model_case("lstm L2 bi + output layer", headed, 5, 2));
  cases.push_back(model_case("lstm L2 bi + output layer, lengths", headed, 5, 2, {2, 5}));
  // The peephole LSTM: ONNX's LSTM with its P input (i, o, f), stacked, both directions, lengths.
  for (bool bi : {false, true}) {
    models::Model peep(config(models::find_cell("peephole_lstm"), 2, bi));
    const std::string label = fmt::format("peephole_lstm L2{}", bi ? " bi" : "");
    cases.push_back(model_case(label + " T=5 B=3", peep, 5, 3));
    cases.push_back(model_case(label + " lengths 6,2,5,1", peep, 6, 4, {6, 2, 5, 1}));
  }
  // Cells without an ONNX operator (a user's cell, defined in the test and not registered; the
  // layer-normalised LSTM) export as Scans over their step graph: other lengths and batches than
  // the model's default, lengths, stacked, both directions, and the oldest opset.
  for (const models::Cell& cell : {rnngraph::testing::cifg(), models::find_cell("ln_lstm")})
    for (bool bi : {false, true}) {
      models::Model m(config(cell, 2, bi));
      const std::string label = fmt::format("{} L2{} (Scan)", cell.name(), bi ? " bi" : "");
      for (auto [T, B] : {std::pair<int64_t, int64_t>{3, 2}, {11, 3}})
        cases.push_back(model_case(fmt::format("{} T={} B={}", label, T, B), m, T, B));
      cases.push_back(model_case(label + " lengths 6,2,5,1", m, 6, 4, {6, 2, 5, 1}));
      cases.push_back(model_case(label + " opset 13, lengths", m, 5, 2, {3, 5}));
      cases.back().model =
          rnngraph::onnx::export_model(m.config(), m.weights(), {.opset = 13, .lengths = true});
    }
  // The LSTM with a projection (PyTorch's proj_size), which ONNX's LSTM lacks: Scans too.
  for (bool bi : {false, true}) {
    models::Config projected = config(models::Cell::Lstm, 2, bi);
    projected.proj_size = 2;
    models::Model m(projected);
    const std::string label = fmt::format("lstm proj_size 2 L2{} (Scan)", bi ? " bi" : "");
    cases.push_back(model_case(label + " T=7 B=3", m, 7, 3));
    cases.push_back(model_case(label + " lengths 6,2,5,1", m, 6, 4, {6, 2, 5, 1}));
  }
  // The oldest opset export writes, in ONNX Runtime too.
  models::Model old_opset(config(models::Cell::Lstm, 2, true));
  cases.push_back(model_case("lstm L2 bi, opset 13", old_opset, 4, 2, {3, 4}));
  cases.back().model = rnngraph::onnx::export_model(old_opset.config(), old_opset.weights(),
                                                    {.opset = 13, .lengths = true});
  run_in_onnx_runtime(cases, "ort_models");
}

BOOST_AUTO_TEST_CASE(trained_models_run_in_onnx_runtime) {
  const fs::path dir = scratch_dir("ort_trained");
  using rnngraph::testing::run_cli;
  {
    std::ofstream text((dir / "text.txt").string());
    for (int i = 0; i < 20; ++i) text << "the quick brown fox jumps over the lazy dog\n";
  }
  BOOST_REQUIRE_EQUAL(run_cli(dir,
                              "train --task sine --model gru --hidden-size 6 --layers 2 "
                              "--iterations 3 --save sine.json")
                          .code,
                      0);
  BOOST_REQUIRE_EQUAL(run_cli(dir,
                              "train --task text --text text.txt --model lstm --hidden-size 6 "
                              "--steps 8 --batch 4 --iterations 3 --save text.json")
                          .code,
                      0);
  // The character model's vocabulary goes with it (metadata_props), id i being element i.
  BOOST_REQUIRE_EQUAL(run_cli(dir, "export text.json -o text.onnx").code, 0);
  const std::string onnx_bytes = io::read_file(dir / "text.onnx");
  BOOST_CHECK(onnx_bytes.find("vocabulary") != std::string::npos);
  BOOST_CHECK_MESSAGE(
      onnx_bytes.find(R"(["\n"," ","a","b","c","d","e","f","g","h","i","j","k","l","m","n","o",)"
                      R"("p","q","r","s","t","u","v","w","x","y","z"])") != std::string::npos,
      "no vocabulary in the ONNX file's metadata");
  std::vector<OrtCase> cases;
  for (const char* file : {"sine.json", "text.json"}) {
    models::Model m = models::Model::load(dir / file);
    BOOST_REQUIRE(m.config().output_size > 0);
    cases.push_back(model_case(file, m, 7, 3));
    cases.push_back(model_case(std::string(file) + " lengths", m, 5, 2, {5, 3}));
  }
  run_in_onnx_runtime(cases, "ort_trained");
}

// examples/serve_onnx.js, as docs/deploy.md shows it: a stream of chunks with the state carried
// equals the whole run, in ONNX Runtime.
BOOST_AUTO_TEST_CASE(serving_example_streams_in_onnx_runtime) {
  const fs::path dir = scratch_dir("ort_example");
  using rnngraph::testing::run_cli;
  for (const char* cell : {"lstm", "gru"}) {
    BOOST_TEST_CONTEXT(cell) {
      BOOST_REQUIRE_EQUAL(
          run_cli(dir,
                  fmt::format("build {} --input-size 3 --hidden-size 8 --layers 2 -o m.json", cell))
              .code,
          0);
      const auto exported = run_cli(dir, "export m.json -o m.onnx");
      BOOST_REQUIRE_EQUAL(exported.code, 0);
      BOOST_CHECK(exported.out.find("h0 [2, B, 8]") != std::string::npos);
      const std::string command =
          fmt::format("cd '{}' && '{}' '{}/serve_onnx.js' m.onnx 3 2 8 > example.out 2>&1",
                      dir.string(), node_program(), RNNGRAPH_EXAMPLES);
      const int status = std::system(command.c_str());
      const std::string out = io::read_file(dir / "example.out");
      BOOST_CHECK_MESSAGE(status == 0, out);
      BOOST_CHECK(out.find("the 3-chunk stream and the whole run agree") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(hand_built_graph_runs_in_onnx_runtime) {
  Graph g;
  hand_built(g);
  const Feeds feeds{{"x", random({3, 2, 3}, 11)}, {"h0", random({2, 4}, 12)}};
  Executor run(g);
  const Results& r = run(feeds);
  OrtCase c{"hand-built",
            rnngraph::onnx::export_graph(g),
            {float_input("x", feeds.at("x")), float_input("h0", feeds.at("h0"))},
            {}};
  for (const auto& [name, id] : g.outputs()) c.expected.emplace(name, r[name].clone());
  OrtCase at13 = c;
  at13.label = "hand-built, opset 13";
  at13.model = rnngraph::onnx::export_graph(g, {.opset = 13});
  run_in_onnx_runtime({c, at13}, "ort_hand_built");
}

BOOST_AUTO_TEST_SUITE_END()
