// safetensors, CSV and graph files: round trips, and every malformed file a typed FormatError.
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
fs::path scratch_dir() { return rnngraph::testing::scratch_dir("formats"); }

// A safetensors file from a header text and a data buffer of `data_bytes` bytes.
std::string safetensors_bytes(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

template <class Parse>
void expect_format_error(Parse parse, const std::string& fragment) {
  try {
    parse();
    BOOST_ERROR("no FormatError; expected one mentioning '" << fragment << "'");
  } catch (const FormatError& e) {
    BOOST_CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos,
                        "'" << fragment << "' not in: " << e.what());
  }
}

void expect_bad_safetensors(const std::string& bytes, const std::string& fragment) {
  expect_format_error([&] { io::parse_safetensors(bytes, "t.safetensors"); }, fragment);
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(formats)

BOOST_AUTO_TEST_CASE(safetensors_round_trip_with_metadata) {
  io::TensorMap tensors;
  tensors.emplace("weight", Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  tensors.emplace("bias", Tensor({3}, {-1, 0.5f, 1e-8f}));
  tensors.emplace("x", Tensor({2, 1, 2, 1}, {9, 8, 7, 6}));
  const fs::path p = scratch_dir() / "rt.safetensors";
  io::write_safetensors(p, tensors, {{"source", "test"}});
  io::Metadata meta;
  const io::TensorMap back = io::read_safetensors(p, &meta);
  BOOST_CHECK_EQUAL(meta.at("source"), "test");
  BOOST_REQUIRE_EQUAL(back.size(), 3u);
  for (const auto& [name, t] : tensors) rnngraph::testing::check_close(back.at(name), t, 0.0f);
  // Byte layout: little-endian u64 header length, then a header padded to 8 bytes.
  const std::string bytes = io::serialize_safetensors(tensors);
  BOOST_CHECK_EQUAL((bytes.size() - 4 * (6 + 3 + 4)) % 8, 0u);
}

BOOST_AUTO_TEST_CASE(safetensors_store_int8_per_column_and_bf16) {
  // W [3, 3]: column 0 spans ±2.54 (scale 0.02), column 1 ±0.5 (scale 0.5 / 127), column 2 is
  // zero (scale 0)
  const Tensor w({3, 3}, {2.54f, 0.5f, 0, -1.0f, -0.2f, 0, 0.011f, 0.001f, 0});
  const Tensor b({4}, {1.0f, 1.00390625f, 1.005859375f, -3e38f});  // 1 + 2⁻⁸, 1 + 1.5·2⁻⁸
  io::TensorMap tensors{{"W", w}, {"b", b}, {"plain", Tensor({2}, {0.1f, 0.2f})}};
  const std::string bytes = io::serialize_safetensors(tensors, {}, {{"W", "I8"}, {"b", "BF16"}});
  const io::TensorMap back = io::parse_safetensors(bytes, "q.safetensors");
  BOOST_CHECK_EQUAL(back.size(), 3u);  // the scales are read into W, not returned
  BOOST_CHECK(!back.contains("W.scale"));
  // each value within half its column's step: q = round(v / scale), half away from zero
  const float scale[3] = {0.02f, 0.5f / 127, 0};
  for (int64_t i = 0; i < 9; ++i)
    BOOST_CHECK_LE(std::fabs(back.at("W").data()[i] - w.data()[i]), scale[i % 3] / 2 + 1e-7f);
  BOOST_CHECK_CLOSE(back.at("W").data()[4], -51 * 0.5f / 127, 1e-4);  // -50.8 → -51
  BOOST_CHECK_CLOSE(back.at("W").data()[6], 0.02f, 1e-4);             // 0.55 → 1
  // bf16: nearest, ties to even (1 + 2⁻⁸ is a tie between 1 and 1 + 2⁻⁷: even is 1)
  rnngraph::testing::check_values(back.at("b"), {4},
                                  {1.0f, 1.0f, 1.0078125f, std::bit_cast<float>(0xff62u << 16)});
  rnngraph::testing::check_close(back.at("plain"), tensors.at("plain"), 0.0f);
  // the same file read raw: W's bytes are the integers, and the scales are beside them
  // (by name: "W", "W.scale", "b", "plain"; 41 bytes of data after the header)
  const std::size_t header = bytes.size() - (9 + 3 * 4 + 4 * 2 + 2 * 4);
  const int expected_bytes[9] = {127, 127, 0, -50, -51, 0, 1, 0, 0};
  for (int i = 0; i < 9; ++i) BOOST_CHECK_EQUAL(int(int8_t(bytes[header + i])), expected_bytes[i]);
  // what cannot be stored so is an Error, and nothing is written
  BOOST_CHECK_THROW(io::serialize_safetensors({{"W", Tensor({2}, {1, NAN})}}, {}, {{"W", "I8"}}),
                    Error);
  BOOST_CHECK_THROW(io::serialize_safetensors(tensors, {}, {{"W", "F16"}}), Error);
  BOOST_CHECK_THROW(io::serialize_safetensors(tensors, {}, {{"missing", "I8"}}), Error);
  BOOST_CHECK_THROW(
      io::serialize_safetensors({{"W", w}, {"W.scale", Tensor({2})}}, {}, {{"W", "I8"}}), Error);
  // a scale that is not one per column is a FormatError
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]},
                           "a.scale":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})",
                        16),
      "not one scale per column");
  // a scale that is not F32 (an I8 one could have a scale of its own)
  expect_bad_safetensors(safetensors_bytes(R"({"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},
                           "a.scale":{"dtype":"I8","shape":[2],"data_offsets":[2,4]},
                           "a.scale.scale":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                           12),
                         "not F32");
}

BOOST_AUTO_TEST_CASE(malformed_safetensors_are_format_errors) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  BOOST_CHECK_NO_THROW(io::parse_safetensors(safetensors_bytes(ok, 8), "ok"));
  expect_bad_safetensors("short", "shorter than");
  expect_bad_safetensors(safetensors_bytes(ok, 8).substr(0, 20), "runs past the end");  // truncated
  std::string huge = safetensors_bytes(ok, 8);
  huge[7] = '\x7f';
  expect_bad_safetensors(huge, "exceeds the limit");
  expect_bad_safetensors(safetensors_bytes("{not json", 0), "not JSON");
  expect_bad_safetensors(safetensors_bytes("[1, 2]", 0), "not a JSON object");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4),
      "F16 is not supported");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8),
      "unknown dtype");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
      "needs 12 bytes");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8),
      "outside");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside");
  expect_bad_safetensors(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                            "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                           12),
                         "overlaps");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "hole");
  expect_bad_safetensors(safetensors_bytes(ok, 12), "after the last tensor");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4), "rank 0");
  expect_bad_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
      "whole number");
  expect_bad_safetensors(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2]}})", 8),
                         "data_offsets");
  expect_bad_safetensors(safetensors_bytes(R"({"__metadata__":{"k":1}})", 0), "not a string");
  expect_format_error([] { io::read_safetensors(scratch_dir() / "missing.safetensors"); },
                      "cannot open");
}

BOOST_AUTO_TEST_CASE(csv_round_trip_and_errors) {
  const Tensor t = io::parse_csv("1, 2.5,-3\n4,5e-1,6\r\n\n", "x.csv");
  rnngraph::testing::check_values(t, {2, 3}, {1, 2.5f, -3, 4, 0.5f, 6});
  const fs::path p = scratch_dir() / "y.csv";
  const Tensor y = init::normal(0, 1, 5).tensor({3, 1, 2});
  io::write_csv(p, y);
  rnngraph::testing::check_close(io::read_csv(p), y.reshaped({3, 2}), 0.0f);  // shortest exact form
  expect_format_error([] { io::parse_csv("1,2\n3\n", "x.csv"); }, "x.csv:2: 1 fields");
  expect_format_error([] { io::parse_csv("1,abc\n", "x.csv"); }, "'abc' is not a finite number");
  expect_format_error([] { io::parse_csv("1,\n", "x.csv"); }, "x.csv:1");
  expect_format_error([] { io::parse_csv("nan\n", "x.csv"); }, "finite");
  expect_format_error([] { io::parse_csv("\n\n", "x.csv"); }, "no data");
  BOOST_CHECK_THROW(io::write_csv(p, Tensor({2, 2, 2})), ShapeError);
}

BOOST_AUTO_TEST_CASE(graph_file_round_trip_is_bit_identical) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    const models::Config c{.cell = cell,
                           .input_size = 3,
                           .hidden_size = 4,
                           .steps = 6,
                           .batch = 2,
                           .layers = 2,
                           .seed = 11};
    Graph g;
    models::build(g, c);
    const fs::path p = scratch_dir() / fmt::format("{}.json", models::to_string(cell));
    io::save_graph(g, p, {{"cell", std::string(models::to_string(cell))}});
    BOOST_CHECK(fs::exists(io::parameters_path(p)));
    const io::GraphFile loaded = io::load_graph(p);
    BOOST_CHECK_EQUAL(loaded.meta.at("cell"), models::to_string(cell));
    BOOST_REQUIRE_EQUAL(loaded.graph->size(), g.size());
    for (const Node& n : g.nodes()) {
      const Node& m = loaded.graph->node(n.id);
      BOOST_CHECK(m.name == n.name && m.scope == n.scope && m.shape == n.shape &&
                  m.attrs == n.attrs);
    }
    const Tensor x = init::normal(0, 1, 1).tensor({6, 2, 3}),
                 h0 = init::normal(0, 1, 2).tensor({2, 2, 4});
    Feeds feeds{{"x", x}, {"h0", h0}};
    if (cell == models::Cell::Lstm) feeds.emplace("c0", h0);
    Executor a(g), b(*loaded.graph);
    rnngraph::testing::check_close(b(feeds)["y"], a(feeds)["y"], 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(malformed_graph_files_are_format_errors) {
  const fs::path dir = scratch_dir();
  Graph g;
  models::build(g, {.cell = models::Cell::Rnn, .input_size = 2, .hidden_size = 3, .steps = 2});
  io::save_graph(g, dir / "good.json");
  const json good = json::parse(io::read_file(dir / "good.json"));
  fs::copy_file(dir / "good.safetensors", dir / "bad.safetensors",
                fs::copy_options::overwrite_existing);

  auto expect_bad = [&](const json& doc, const std::string& fragment) {
    write_text(dir / "bad.json", doc.dump());
    expect_format_error([&] { io::load_graph(dir / "bad.json"); }, fragment);
  };
  auto edit = [&](auto change) {
    json doc = good;
    doc["parameters"] = "bad.safetensors";
    change(doc);
    return doc;
  };
  // Index of the first op node with two inputs (the concat of step 0).
  int op = 0;
  while (good["nodes"][op]["kind"] != "op" || good["nodes"][op]["inputs"].size() != 2) ++op;

  expect_bad(edit([](json& d) { d["version"] = 2; }), "version 2 is not supported");
  expect_bad(edit([](json& d) { d["format"] = "something.else"; }), "not an rnngraph graph file");
  expect_bad(edit([&](json& d) { d["nodes"][op]["inputs"][0] = 999; }), "dangling");
  expect_bad(edit([&](json& d) { d["nodes"][op]["inputs"][0] = op + 1; }), "cycle");
  expect_bad(edit([&](json& d) { d["nodes"][op]["inputs"][0] = op; }), "cycle");
  expect_bad(edit([&](json& d) { d["nodes"][op]["shape"] = {1, 99}; }), "the op gives");
  expect_bad(edit([&](json& d) { d["nodes"][op]["op"] = "softmax3000"; }), "unknown op");
  expect_bad(edit([&](json& d) { d["nodes"][op]["attrs"]["axis"] = 0; }), "inconsistent graph");
  expect_bad(edit([](json& d) { d["nodes"][0]["id"] = 5; }), "ids must count up");
  expect_bad(edit([](json& d) { d["nodes"][0]["shape"] = "big"; }), "shape is not an array");
  expect_bad(edit([](json& d) { d["outputs"][0]["node"] = -1; }), "dangling");
  expect_bad(edit([](json& d) { d["parameters"] = "missing.safetensors"; }), "cannot open");
  expect_bad(edit([](json& d) { d.erase("nodes"); }), "malformed");
  write_text(dir / "bad.json", "{\"format\": \"rnngraph.graph\", ");
  expect_format_error([&] { io::load_graph(dir / "bad.json"); }, "not JSON");

  // Parameters whose shape disagrees with the graph.
  io::TensorMap params = io::read_safetensors(dir / "good.safetensors");
  params["W_l0"] = Tensor({2, 2});
  io::write_safetensors(dir / "bad.safetensors", params);
  expect_bad(edit([](json&) {}), "'W_l0' is [5, 3] in the graph but [2, 2]");
}

BOOST_AUTO_TEST_SUITE_END()
