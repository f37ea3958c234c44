// Real sequences against PyTorch (tests/fixtures/make_torch_sequences.py): one model file run on
// T = 1, 5, 37 and B = 1, 4; a padded batch of mixed lengths against pack_padded_sequence,
// outputs and gradients; a long run in uneven chunks with the state carried; model files small
// and independent of T; old node-by-node model files; bad lengths.
#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/npy.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model_runner.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;
using rnngraph::testing::check_close;
using rnngraph::testing::fixture;
using rnngraph::testing::rows;

namespace {
struct Case {
  models::Cell cell;
  int64_t layers;
  std::string name;
  bool bidirectional = false;
};
// Every cell, 1 and 2 layers, one direction and (with `bidirectional`) both.
std::vector<Case> cases(bool bidirectional = true) {
  std::vector<Case> out;
  for (bool bi : {false, true})
    for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
      for (int64_t layers : {1, 2})
        if (!bi || bidirectional)
          out.push_back(
              {cell, layers,
               fmt::format("torch_seq_{}_L{}{}", models::to_string(cell), layers, bi ? "_bi" : ""),
               bi});
  return out;
}

models::Config config(const Case& c, int64_t steps = 5, int64_t batch = 1) {
  return {.cell = c.cell,
          .input_size = 3,
          .hidden_size = 4,
          .steps = steps,
          .batch = batch,
          .layers = c.layers,
          .bidirectional = c.bidirectional};
}

// The PyTorch weights in a model file written the way rnngraph build writes it.
fs::path model_file(const Case& c) {
  Graph g;
  models::build(g, config(c));
  models::load_torch_state(g, config(c), io::read_safetensors(fixture(c.name + ".safetensors")));
  const fs::path path = rnngraph::testing::scratch_dir("sequences") / (c.name + ".json");
  models::save_file(g, config(c), path);
  return path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sequences)

BOOST_AUTO_TEST_CASE(one_model_file_runs_any_length_and_batch) {
  for (const Case& c : cases()) {
    const io::TensorMap data = io::read_safetensors(fixture(c.name + "_data.safetensors"));
    const fs::path path = model_file(c);
    // The file is the recipe: a few hundred bytes, whatever the length.
    BOOST_CHECK_LT(fs::file_size(path), 1024u);
    models::Model model = models::Model::load(path);
    for (int64_t batch : {1, 4})
      for (int64_t steps : {1, 5, 37}) {
        BOOST_TEST_CONTEXT(c.name << " T " << steps << " B " << batch) {
          const std::string key = fmt::format("T{}_B{}", steps, batch);
          Feeds feeds{{"x", data.at("x_" + key)}, {"h0", data.at(fmt::format("h0_B{}", batch))}};
          if (c.cell == models::Cell::Lstm)
            feeds.emplace("c0", data.at(fmt::format("c0_B{}", batch)));
          const Results& r = model.run(feeds);
          check_close(r["y"], data.at("y_" + key), 2e-5f);
          check_close(r["h_n"], data.at("h_n_" + key), 2e-5f);
          if (c.cell == models::Cell::Lstm) check_close(r["c_n"], data.at("c_n_" + key), 2e-5f);
        }
      }
  }
}

BOOST_AUTO_TEST_CASE(pytorch_state_dicts_export_with_their_reverse_weights) {
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const io::TensorMap torch = io::read_safetensors(fixture(c.name + ".safetensors"));
      Graph a, b;
      models::build(a, config(c));
      models::build(b, config(c));
      models::load_torch_state(a, config(c), torch);
      const io::TensorMap exported = models::torch_state(a, config(c));
      BOOST_CHECK_EQUAL(exported.size(), torch.size());  // every name, *_reverse included
      for (const auto& [name, tensor] : torch) BOOST_CHECK(exported.contains(name));
      models::load_torch_state(b, config(c), exported);  // and back, unchanged
      for (int id : a.parameters()) check_close(b.param(a.node(id).name), a.node(id).value, 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(padded_batches_match_pack_padded_sequence_forward_and_backward) {
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const io::TensorMap data = io::read_safetensors(fixture(c.name + "_data.safetensors"));
      const bool lstm = c.cell == models::Cell::Lstm;
      const std::vector<int64_t> lengths =
          models::lengths_from(std::vector<double>{9, 3, 6, 1}, 4, 9);
      Feeds feeds{{"x", data.at("padded_x")}, {"h0", data.at("padded_h0")}};
      if (lstm) feeds.emplace("c0", data.at("padded_c0"));
      // Forward, through the model.
      models::Model model = models::Model::load(model_file(c));
      const Results& r = model.run(feeds, lengths);
      check_close(r["y"], data.at("padded_y"), 2e-5f);
      check_close(r["h_n"], data.at("padded_h_n"), 2e-5f);
      if (lstm) check_close(r["c_n"], data.at("padded_c_n"), 2e-5f);

      // Backward: the loss y.sum() + h_n.sum() (+ c_n.sum()), as the script takes it.
      models::Config masked = config(c, 9, 4);
      masked.masked = true;
      Graph g;
      const models::Outputs out = models::build(g, masked);
      models::load_torch_state(g, masked, io::read_safetensors(fixture(c.name + ".safetensors")));
      Value loss = sum(out.y) + sum(out.h_n);
      if (lstm) loss = loss + sum(out.c_n);
      g.output("loss", loss);
      std::vector<Value> wrt = parameter_values(g);
      wrt.emplace_back(g, g.find("x").id);
      grad(loss, wrt);
      Feeds all = feeds;
      all.emplace("mask", models::length_mask(lengths, 9));
      Executor run(g);
      const Results& gr = run(all);
      BOOST_CHECK_CLOSE(gr["loss"].values()[0], data.at("padded_loss").values()[0], 1e-3);
      io::TensorMap ours;
      for (const std::string& name : parameter_names(g))
        ours.emplace(name, gr["grad/" + name].clone());
      for (const auto& [name, tensor] : models::torch_gradients(masked, ours))
        BOOST_TEST_CONTEXT(name) { check_close(tensor, data.at("grad/" + name), 2e-5f); }
      check_close(gr["grad/x"], data.at("grad/x"), 2e-5f);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stream_in_uneven_chunks_gives_the_whole_run) {
  for (const Case& c : cases(/*bidirectional=*/false)) {  // the reverse direction needs the end
    BOOST_TEST_CONTEXT(c.name) {
      const io::TensorMap data = io::read_safetensors(fixture(c.name + "_data.safetensors"));
      const bool lstm = c.cell == models::Cell::Lstm;
      models::Model model = models::Model::load(model_file(c));
      const Tensor& x = data.at("x_T37_B4");
      Tensor h = data.at("h0_B4").clone(), cell = lstm ? data.at("c0_B4").clone() : Tensor();
      std::vector<float> y;
      int64_t at = 0;
      for (int64_t chunk : {5, 13, 1, 18}) {
        Feeds feeds{{"x", rows(x, at, at + chunk)}, {"h0", h}};
        if (lstm) feeds.emplace("c0", cell);
        const Results& r = model.run(feeds);
        y.insert(y.end(), r["y"].values().begin(), r["y"].values().end());
        h = r["h_n"].clone();
        if (lstm) cell = r["c_n"].clone();
        at += chunk;
      }
      BOOST_REQUIRE_EQUAL(at, 37);
      check_close(Tensor::from({37, 4, 4}, y), data.at("y_T37_B4"), 2e-5f);
      check_close(h, data.at("h_n_T37_B4"), 2e-5f);
      if (lstm) check_close(cell, data.at("c_n_T37_B4"), 2e-5f);
    }
  }
}

BOOST_AUTO_TEST_CASE(shapes_are_cached_and_share_the_weights) {
  const Case c{models::Cell::Gru, 1, "torch_seq_gru_L1"};
  models::Model model = models::Model::load(model_file(c));
  const Graph* first = &model.graph(5, 2);
  for (int64_t t = 1; t < int64_t(models::Model::kCachedShapes); ++t) model.graph(t, 1);
  BOOST_CHECK(&model.graph(5, 2) == first);  // still cached: four shapes in all
  for (int64_t t = 10; t < 10 + int64_t(models::Model::kCachedShapes); ++t) model.graph(t, 1);
  // Every unrolled graph reads the model's tensors: no copy per shape.
  const Graph& g = model.graph(7, 3);
  for (const auto& [name, tensor] : model.weights())
    BOOST_CHECK(g.param(name).data() == tensor.data());
  const Tensor x = init::normal(0, 1, 1).tensor({7, 3, 3});
  const Tensor before = model.run({{"x", x}})["y"].clone();
  model.weights().at("W_in_l0").fill(0);  // a write is seen by the cached graph
  BOOST_CHECK(model.run({{"x", x}})["y"].values()[0] != before.values()[0]);
}

BOOST_AUTO_TEST_CASE(node_by_node_model_files_still_load) {
  // A model file as builds before recipe files wrote it: every node, the recipe in its meta.
  const Case c{models::Cell::Lstm, 2, "torch_seq_lstm_L2"};
  Graph g;
  models::build(g, config(c));
  models::load_torch_state(g, config(c), io::read_safetensors(fixture(c.name + ".safetensors")));
  const fs::path path = rnngraph::testing::scratch_dir("sequences") / "old.json";
  io::save_graph(g, path, models::recipe(config(c)));
  models::Model model = models::Model::load(path);
  const io::TensorMap data = io::read_safetensors(fixture(c.name + "_data.safetensors"));
  const Results& r =
      model.run({{"x", data.at("x_T37_B1")}, {"h0", data.at("h0_B1")}, {"c0", data.at("c0_B1")}});
  check_close(r["y"], data.at("y_T37_B1"), 2e-5f);
  // io::load_graph refuses a recipe file, pointing at models::load_file.
  BOOST_CHECK_THROW(io::load_graph(model_file(c)), FormatError);
  BOOST_CHECK(models::load_file(model_file(c)).graph->size() == g.size());
}

BOOST_AUTO_TEST_CASE(bad_lengths_are_clear_errors) {
  BOOST_CHECK_THROW(models::lengths_from(std::vector<double>{3, 2}, 3, 5), ShapeError);  // count
  BOOST_CHECK_THROW(models::lengths_from(std::vector<double>{3, 0}, 2, 5), ShapeError);  // zero
  BOOST_CHECK_THROW(models::lengths_from(std::vector<double>{6, 2}, 2, 5), ShapeError);  // > T
  BOOST_CHECK_THROW(models::lengths_from(std::vector<double>{2.5, 2}, 2, 5), ShapeError);
  BOOST_CHECK(models::lengths_from(std::vector<double>{5, 1}, 2, 5) ==
              std::vector<int64_t>({5, 1}));
  models::Model model(config({models::Cell::Rnn, 1, ""}));
  const Tensor x({4, 2, 3});
  const std::vector<int64_t> too_long{5, 1};
  BOOST_CHECK_THROW(model.run({{"x", x}}, too_long), ShapeError);
  BOOST_CHECK_THROW(model.run({{"x", Tensor({4, 2, 2})}}), ShapeError);  // 2 features, not 3
}

BOOST_AUTO_TEST_SUITE_END()
