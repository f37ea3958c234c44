// Graph files: versioned JSON describing the nodes, with parameters and constants in
// <stem>.safetensors beside it (g.json → g.safetensors).
//
//   {"format": "rnngraph.graph", "version": 1, "parameters": "g.safetensors",
//    "meta": {"cell": "lstm", ...},
//    "nodes": [{"id": 0, "kind": "input", "name": "x", "scope": "", "shape": [5, 1, 3]},
//              {"id": 7, "kind": "op", "op": "matmul", "scope": "step0", "inputs": [5, 6],
//               "attrs": {"transpose_b": 1}, "shape": [1, 4]}, ...],
//    "outputs": [{"name": "y", "node": 42}]}
//
// Loading rebuilds the graph through the ordinary builder, so every shape rule runs again.
// A wrong format or version, dangling or forward node ids (the only way to write a cycle), an
// unknown op, shapes that disagree with the ops, or parameters missing from the safetensors
// file are FormatErrors.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/safetensors.h>

namespace rnngraph::io {

inline constexpr int kGraphFormatVersion = 1;

using NamedGraphs = std::map<std::string, std::shared_ptr<const Graph>, std::less<>>;

struct GraphFile {
  // Null from read_graph_file for a recipe file (save_recipe): models::load_file builds the
  // graph from the recipe in `meta`, with the tensors of `extra` as its parameters.
  std::unique_ptr<Graph> graph;
  std::map<std::string, std::string, std::less<>> meta;  // the recipe and free-form facts
  TensorMap extra;  // tensors of the safetensors file that are not nodes (optimizer state)
  // Graphs a recipe file stores beside its recipe, by name (a user cell's step graphs): their
  // parameters are placeholders of the right shape, their constants hold their values.
  NamedGraphs graphs;
};

std::filesystem::path parameters_path(const std::filesystem::path& graph_path);

// Writes the JSON and its safetensors file (the parameters and constants, plus `extra`, such as a
// trainer's "optim/..." state); on failure neither is left behind.
void save_graph(const Graph& graph, const std::filesystem::path& path,
                const std::map<std::string, std::string, std::less<>>& meta = {},
                const TensorMap& extra = {});
// A node-by-node graph file; FormatError for a recipe file (models::load_file reads both).
GraphFile load_graph(const std::filesystem::path& path);
// Either kind: a recipe file comes back with a null graph.
GraphFile read_graph_file(const std::filesystem::path& path);

// A model file without nodes: the recipe (`meta`, which says how to build the graph for any
// length and batch) and the tensors (parameters and extras) in the safetensors file beside it.
// A 10,000-step LSTM's file is then its weights plus a few hundred bytes. Same atomicity as
// save_graph.
// `stored`: tensors written as I8 or BF16 (safetensors.h).
void save_recipe(const std::filesystem::path& path,
                 const std::map<std::string, std::string, std::less<>>& meta,
                 const TensorMap& tensors, const NamedGraphs& graphs = {},
                 const Dtypes& stored = {});

}  // namespace rnngraph::io
