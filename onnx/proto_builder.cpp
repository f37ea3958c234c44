#include "proto_builder.h"

#include <cstring>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/onnx/onnx.h>

namespace rnngraph::onnx {

std::string GraphBuilder::fresh(std::string_view hint) {
  std::string name(hint);
  for (int n = 1; used_.contains(name); ++n) name = fmt::format("{}_{}", hint, n);
  used_.insert(name);
  return name;
}

void GraphBuilder::node(std::string_view op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs,
                        std::initializer_list<Attribute> attrs) {
  ::onnx::NodeProto& n = *graph_.add_node();
  n.set_op_type(std::string(op_type));
  n.set_name(fmt::format("{}_{}", op_type, graph_.node_size()));
  for (const std::string& in : inputs) n.add_input(in);
  for (const std::string& out : outputs) n.add_output(out), used_.insert(out);
  for (const Attribute& a : attrs) {
    ::onnx::AttributeProto& p = *n.add_attribute();
    p.set_name(a.name);
    if (auto* i = std::get_if<int64_t>(&a.value)) {
      p.set_type(::onnx::AttributeProto::INT);
      p.set_i(*i);
    } else if (auto* f = std::get_if<float>(&a.value)) {
      p.set_type(::onnx::AttributeProto::FLOAT);
      p.set_f(*f);
    } else if (auto* s = std::get_if<std::string>(&a.value)) {
      p.set_type(::onnx::AttributeProto::STRING);
      p.set_s(*s);
    } else {
      p.set_type(::onnx::AttributeProto::INTS);
      for (int64_t v : std::get<std::vector<int64_t>>(a.value)) p.add_ints(v);
    }
  }
}

std::string GraphBuilder::apply(std::string_view op_type, const std::vector<std::string>& inputs,
                                std::string_view hint, std::initializer_list<Attribute> attrs) {
  std::string out = fresh(hint);
  node(op_type, inputs, {out}, attrs);
  return out;
}

std::string GraphBuilder::floats(std::string_view hint, std::span<const int64_t> dims,
                                 std::span<const float> values) {
  ::onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(hint));
  t.set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  // raw_data is little-endian by definition, as our tensors are on the machines we build for.
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
  return t.name();
}

std::string GraphBuilder::tensor(std::string_view hint, const Tensor& value) {
  return floats(hint, value.shape().dims(), value.values());
}

std::string GraphBuilder::int64s(std::string_view hint, std::span<const int64_t> values) {
  ::onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(hint));
  t.set_data_type(::onnx::TensorProto::INT64);
  t.add_dims(int64_t(values.size()));
  for (int64_t v : values) t.add_int64_data(v);
  return t.name();
}

std::string GraphBuilder::int64_scalar(std::string_view hint, int64_t value) {
  ::onnx::TensorProto& t = *graph_.add_initializer();
  t.set_name(fresh(hint));
  t.set_data_type(::onnx::TensorProto::INT64);
  t.add_int64_data(value);
  return t.name();
}

void GraphBuilder::one_hot(const std::string& ids, int64_t depth, const std::string& out) {
  const float off_on[] = {0, 1};
  const int64_t two[] = {2};
  node("OneHot", {ids, int64_scalar("depth", depth), floats("off_on", two, off_on)}, {out},
       {{"axis", int64_t(-1)}});
}

namespace {
void describe(::onnx::ValueInfoProto& v, const std::string& name, int elem_type,
              std::span<const Dim> dims) {
  v.set_name(name);
  ::onnx::TypeProto_Tensor& t = *v.mutable_type()->mutable_tensor_type();
  t.set_elem_type(elem_type);
  ::onnx::TensorShapeProto& shape = *t.mutable_shape();
  for (const Dim& d : dims) {
    if (d.name.empty())
      shape.add_dim()->set_dim_value(d.size);
    else
      shape.add_dim()->set_dim_param(d.name);
  }
}
std::vector<Dim> fixed(std::span<const int64_t> dims) { return {dims.begin(), dims.end()}; }
}  // namespace

void GraphBuilder::input(const std::string& name, int elem_type, std::initializer_list<Dim> dims) {
  claim(name);
  describe(*graph_.add_input(), name, elem_type, dims);
}
void GraphBuilder::input(const std::string& name, int elem_type, std::span<const int64_t> dims) {
  claim(name);
  describe(*graph_.add_input(), name, elem_type, fixed(dims));
}
void GraphBuilder::output(const std::string& name, int elem_type, std::initializer_list<Dim> dims) {
  describe(*graph_.add_output(), name, elem_type, dims);
}
void GraphBuilder::output(const std::string& name, int elem_type, std::span<const int64_t> dims) {
  describe(*graph_.add_output(), name, elem_type, fixed(dims));
}

::onnx::ModelProto new_model(int opset, std::string_view graph_name) {
  if (opset < kMinOpset || opset > kMaxOpset)
    throw GraphError(fmt::format("ONNX export: opset {} is not supported (from {} to {})", opset,
                                 kMinOpset, kMaxOpset));
  ::onnx::ModelProto model;
  model.set_ir_version(8);  // what opsets 15..17 came with; ONNX Runtime 1.20 reads up to 10
  model.set_producer_name("rnngraph");
  model.set_producer_version("0.1.0");
  ::onnx::OperatorSetIdProto& op = *model.add_opset_import();
  op.set_domain("");
  op.set_version(opset);
  model.mutable_graph()->set_name(std::string(graph_name));
  return model;
}

std::string serialize(const ::onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw GraphError("ONNX export: the model could not be serialized (over 2 GB?)");
  return bytes;
}

void check(const std::string& model_bytes) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes))
    throw FormatError("ONNX check: the bytes are not an ONNX ModelProto");
  // libonnx 1.12's checker lets a graph output that nothing computes pass; ONNX Runtime does not.
  std::set<std::string> known;
  for (const auto& v : model.graph().input()) known.insert(v.name());
  for (const auto& t : model.graph().initializer()) known.insert(t.name());
  for (const auto& n : model.graph().node()) known.insert(n.output().begin(), n.output().end());
  for (const auto& v : model.graph().output())
    if (!known.contains(v.name()))
      throw FormatError(
          fmt::format("ONNX check: graph output '{}' is computed by no node", v.name()));
  try {
    ::onnx::checker::check_model(model);
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(),
                                         {true, 1, false});  // strict: errors throw
  } catch (const std::exception& e) {
    throw FormatError(fmt::format("ONNX check: {}", e.what()));
  }
}

const models::OnnxLayout& onnx_layout(const models::Cell& cell) {
  if (!cell->onnx) throw GraphError(fmt::format("cell '{}' has no ONNX operator", cell.name()));
  return *cell->onnx;
}

std::vector<int64_t> onnx_gate_order(const models::Cell& cell) { return onnx_layout(cell).order; }

std::string_view op_type(const models::Cell& cell) { return onnx_layout(cell).op_type; }

std::optional<models::Cell> cell_of(std::string_view op_type) {
  for (const models::Cell& cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
    if (onnx::op_type(cell) == op_type) return cell;
  return std::nullopt;
}

void move_gates(bool to_onnx, const models::Cell& cell, float* onnx, float* torch, int64_t H,
                int64_t cols) {
  const std::vector<int64_t> order = onnx_gate_order(cell);
  const std::size_t block = std::size_t(H * cols);
  for (std::size_t p = 0; p < order.size(); ++p) {
    float* ours = onnx + p * block;
    float* theirs = torch + std::size_t(order[p]) * block;
    std::memcpy(to_onnx ? ours : theirs, to_onnx ? theirs : ours, block * sizeof(float));
  }
}

Tensor read_float_tensor(const ::onnx::TensorProto& t, std::string_view what) {
  if (t.data_type() != ::onnx::TensorProto::FLOAT)
    throw FormatError(
        fmt::format("ONNX import: {} is not float32 (data type {})", what, int(t.data_type())));
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    throw FormatError(fmt::format("ONNX import: {} is stored outside the model file", what));
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > (int64_t(1) << 40) || (d > 0 && count > (int64_t(1) << 40) / d))
      throw FormatError(fmt::format("ONNX import: {} has a bad dimension {}", what, d));
    count *= d;
  }
  const std::size_t stored =
      t.has_raw_data() ? t.raw_data().size() / sizeof(float) : std::size_t(t.float_data_size());
  if ((t.has_raw_data() && t.raw_data().size() % sizeof(float)) || stored != std::size_t(count))
    throw FormatError(
        fmt::format("ONNX import: {} holds {} values, its dims say {}", what, stored, count));
  Shape shape;
  try {
    shape = dims.empty() ? Shape{1} : Shape(std::span<const int64_t>(dims));
  } catch (const ShapeError& e) {  // rank above 4, or an empty dimension
    throw FormatError(fmt::format("ONNX import: {}: {}", what, e.what()));
  }
  Tensor out(shape);
  if (t.has_raw_data())
    std::memcpy(out.data(), t.raw_data().data(), stored * sizeof(float));
  else
    std::copy(t.float_data().begin(), t.float_data().end(), out.data());
  return out;
}

}  // namespace rnngraph::onnx

namespace rnngraph::onnx {

std::string signature(const std::string& model_bytes) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes)) throw FormatError("the bytes are not an ONNX model");
  auto list = [](const auto& values) {
    std::string out;
    for (const ::onnx::ValueInfoProto& v : values) {
      std::vector<std::string> dims;
      for (const auto& d : v.type().tensor_type().shape().dim())
        dims.push_back(d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
      const int type = v.type().tensor_type().elem_type();
      out += fmt::format("{}{} [{}] {}", out.empty() ? "" : ", ", v.name(), fmt::join(dims, ", "),
                         type == ::onnx::TensorProto::FLOAT   ? "float32"
                         : type == ::onnx::TensorProto::INT64 ? "int64"
                         : type == ::onnx::TensorProto::INT32 ? "int32"
                                                              : "other");
    }
    return printable(out);
  };
  return fmt::format("inputs:  {}\noutputs: {}\n", list(model.graph().input()),
                     list(model.graph().output()));
}

}  // namespace rnngraph::onnx
