// What export and import share: building ONNX graphs with fresh names and small attribute lists,
// ONNX's gate orders against PyTorch's, and reading tensors out of a model. Internal: includes
// libonnx's generated protobuf classes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <onnx/onnx_pb.h>

#include <rnngraph/framework/tensor.h>
#include <rnngraph/models/model.h>

namespace rnngraph::onnx {

// A dimension of a graph input or output: fixed, or named ("T", "B") when it is dynamic.
struct Dim {
  int64_t size = -1;
  std::string name;
  Dim(int64_t s) : size(s) {}
  Dim(const char* n) : name(n) {}
};

struct Attribute {
  std::string name;
  std::variant<int64_t, float, std::string, std::vector<int64_t>> value;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(::onnx::GraphProto& graph) : graph_(graph) {}
  // A subgraph's builder (a Scan's body): it takes no name `outer` has taken, and outer.adopt()
  // takes back the names it made, so that no name is defined twice across the scopes.
  GraphBuilder(::onnx::GraphProto& graph, const GraphBuilder& outer)
      : graph_(graph), used_(outer.used_) {}
  void adopt(const GraphBuilder& inner) { used_.insert(inner.used_.begin(), inner.used_.end()); }
  // The last node appended (to add attributes the helpers do not write, such as a body graph).
  ::onnx::NodeProto& last_node() { return *graph_.mutable_node(graph_.node_size() - 1); }

  // A name no value of the graph has yet, `hint` when it is free.
  std::string fresh(std::string_view hint);
  // Reserves a name given elsewhere (graph inputs, our node names).
  void claim(const std::string& name) { used_.insert(name); }

  // Appends a node computing `outputs`; names them as given.
  void node(std::string_view op_type, const std::vector<std::string>& inputs,
            const std::vector<std::string>& outputs, std::initializer_list<Attribute> attrs = {});
  // A node with one output, named fresh from `hint`; returns that name.
  std::string apply(std::string_view op_type, const std::vector<std::string>& inputs,
                    std::string_view hint, std::initializer_list<Attribute> attrs = {});

  // Initializers (constants stored in the model); each returns its name.
  std::string floats(std::string_view hint, std::span<const int64_t> dims,
                     std::span<const float> values);
  std::string tensor(std::string_view hint, const Tensor& t);
  std::string int64s(std::string_view hint, std::span<const int64_t> values);
  std::string int64_scalar(std::string_view hint, int64_t value);
  // `out` = one-hot rows of integer class ids, float 0 and 1, on a new last axis of size `depth`.
  void one_hot(const std::string& ids, int64_t depth, const std::string& out);

  // Graph inputs and outputs (elem_type: ::onnx::TensorProto::FLOAT, INT64, INT32).
  void input(const std::string& name, int elem_type, std::initializer_list<Dim> dims);
  void input(const std::string& name, int elem_type, std::span<const int64_t> dims);
  void output(const std::string& name, int elem_type, std::initializer_list<Dim> dims);
  void output(const std::string& name, int elem_type, std::span<const int64_t> dims);

 private:
  ::onnx::GraphProto& graph_;
  std::set<std::string, std::less<>> used_;
};

// A ModelProto with rnngraph as producer and the default domain at `opset`; GraphError for an
// opset export does not write.
::onnx::ModelProto new_model(int opset, std::string_view graph_name);
std::string serialize(const ::onnx::ModelProto& model);

// ONNX stacks a layer's gates as LSTM i, o, f, c and GRU z, r, h; PyTorch as i, f, g, o and r,
// z, n. Position p of ONNX's order holds PyTorch's gate onnx_gate_order(cell)[p].
// GraphError for a cell without an ONNX operator (its layout: models::OnnxLayout).
const models::OnnxLayout& onnx_layout(const models::Cell& cell);
std::vector<int64_t> onnx_gate_order(const models::Cell& cell);
// ONNX's operator for a cell ("RNN", "LSTM", "GRU"), and back to the built-in cell (nullopt for
// another op type).
std::string_view op_type(const models::Cell& cell);
std::optional<models::Cell> cell_of(std::string_view op_type);
// Copies gate blocks (H rows of `cols` values each) between ONNX's order and PyTorch's.
void move_gates(bool to_onnx, const models::Cell& cell, float* onnx, float* torch, int64_t H,
                int64_t cols);

// Our nodes of `g` that `needed` marks as ONNX nodes of `b`, in order, through one emitter per
// op: value[id] holds the ONNX name of each input (and of any parameter the caller names itself)
// on entry, and of every emitted node on return. GraphError for an op without an ONNX form.
void emit_nodes(GraphBuilder& b, int opset, const Graph& g, const std::vector<char>& needed,
                std::vector<std::string>& value);

// The float data of a TensorProto (float_data or raw_data, little-endian), and its dims;
// FormatError naming `what` for another type, external data or a size that disagrees with dims.
Tensor read_float_tensor(const ::onnx::TensorProto& t, std::string_view what);

}  // namespace rnngraph::onnx
