// ONNX export and import, through libonnx's protobuf classes (Debian's libonnx-dev and
// libprotobuf-dev). A library of its own, rnngraph::onnx, so only its users link them; this header
// includes none of their headers.
//
// Export. A model (a recipe and its weights) becomes ONNX's own RNN / LSTM / GRU operators, one per
// layer (the peephole LSTM with the LSTM's P input), with a dynamic sequence length T and batch B;
// a model of a cell without an operator (a user's cell, ln_lstm) becomes one ONNX Scan per layer
// and direction whose body is the cell's step graph, for any T and B too, its weights read from
// the model graph's initializers by name; any other graph becomes its ops one by one
// (MatMul, Gemm, Concat, Add, Tanh, Slice, ...) at its fixed shapes. The interface of an exported
// model is a contract:
//   inputs   x [T, B, I] float (or tokens [T, B] int64 for a model with a token input);
//            h0 [L·D, B, H] (and c0 for the LSTM; "<s>0" for each state variable s of the
//            cell), D = 2 when bidirectional, layer k's
//            directions at rows k·D ..; lengths [B] int32 when exported with `lengths`
//   outputs  y [T, B, D·H] (or [T, B, O] through the output layer), h_n [L·D, B, H] (and c_n),
//            as PyTorch orders them; with lengths, the layers' outputs are 0 past each sample's
//            length (y is then b_out through an output layer) and h_n holds each sample's last
//            valid state.
// Export runs libonnx's checker (with shape inference) on the result before writing it.
//
// Import. An ONNX model made of RNN / LSTM / GRU operators stacked one per layer (what
// torch.onnx.export writes for nn.RNN, nn.LSTM and nn.GRU, with or without initial-state
// inputs) comes back as a recipe and weights: run, draw, train or export it like any model.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/graph_file.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/models/model.h>

namespace rnngraph::onnx {

// Opsets export writes: 13 (ReduceSum's axes became an input) to 17 (the newest that Debian's
// onnx 1.12 checker knows).
inline constexpr int kMinOpset = 13, kMaxOpset = 17, kDefaultOpset = 17;

struct ExportOptions {
  int opset = kDefaultOpset;
  // Models only: a "lengths" input [B] (int32), ONNX's sequence_lens (PyTorch's packed sequences).
  bool lengths = false;
};

// The serialized ModelProto. export_model: a recipe and its weights by our names
// (models::Model::weights()); GraphError for a missing weight. export_graph: a graph with fixed
// shapes; GraphError naming the node, its op and shapes for an op without an ONNX form (the fused
// cells that passes make). Both: GraphError for an opset outside kMinOpset ..= kMaxOpset.
std::string export_model(const models::Config& config, const io::TensorMap& weights,
                         const ExportOptions& options = {});
std::string export_graph(const Graph& g, const ExportOptions& options = {});

// A graph file (models::load_file) to `path`: a model file (one with a recipe) through
// export_model, any other through export_graph. Checked, then written atomically; returns the
// bytes written.
std::string save(const io::GraphFile& file, const std::filesystem::path& path,
                 const ExportOptions& options = {});

// A model's interface, two lines: "inputs:  x [T, B, 3] float32, h0 [2, B, 8] float32\n" and
// "outputs: ...". FormatError for bytes that are not a model.
std::string signature(const std::string& model_bytes);

// libonnx's checker with shape inference on serialized bytes; FormatError with its message.
void check(const std::string& model_bytes);

struct Imported {
  models::Config config;
  io::TensorMap weights;  // by our names, as models::Model and models::save_file take them
};

// FormatError for a file that is not an ONNX model, or is one that is not a stack of RNN / LSTM
// / GRU layers rnngraph computes (other activations, clip, peepholes, a GRU without
// linear_before_reset, weights computed at run time, ops besides the layers' plumbing).
Imported import_model(const std::filesystem::path& path);
Imported import_bytes(const std::string& model_bytes, std::string_view name);

}  // namespace rnngraph::onnx
