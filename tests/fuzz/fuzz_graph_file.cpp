// Graph files as models::load_file reads them: node-by-node graph JSON and model recipes (which
// it builds), beside a fixed, valid safetensors file. The input is the JSON.
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/models/model.h>
#include <rnngraph/ops/ops.h>

#include "fuzz.h"

using namespace rnngraph;

namespace {
std::filesystem::path graph_path;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::limit_memory();
  // Both kinds of weights a graph file may name: a hand-built graph's and a model's.
  Graph g;
  const Value x = g.input("x", {2, 3});
  const Value W = g.parameter("W", {3, 4}, init::uniform(-1, 1, 1));
  g.output("y", tanh(matmul(x, W)));
  io::TensorMap tensors;
  tensors.emplace("W", g.param("W"));
  models::Config c;
  c.cell = models::Cell::Lstm;
  c.input_size = 3;
  c.hidden_size = 4;
  Graph model;
  models::build(model, c);
  for (int id : model.parameters()) tensors.emplace(model.node(id).name, model.node(id).value);
  graph_path = fuzz::scratch() / "g.json";
  io::write_safetensors(io::parameters_path(graph_path), tensors);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fuzz::write(graph_path, fuzz::bytes(data, size));
  fuzz::expect_typed_errors([&] { models::load_file(graph_path); });
  return 0;
}
