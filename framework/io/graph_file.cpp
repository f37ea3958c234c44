#include <rnngraph/framework/io/graph_file.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/framework/io/safetensors.h>

namespace rnngraph::io {

namespace {
using nlohmann::json;
constexpr std::string_view kFormat = "rnngraph.graph";

json shape_json(const Shape& s) { return std::vector<int64_t>(s.dims().begin(), s.dims().end()); }

NodeKind kind_from_string(std::string_view name) {
  for (NodeKind k : {NodeKind::Input, NodeKind::Parameter, NodeKind::Constant, NodeKind::Op})
    if (to_string(k) == name) return k;
  throw FormatError(fmt::format("unknown node kind '{}'", name));
}

// Re-enters a node's scope path ("step3/layer0") for the nodes the loader recreates.
std::vector<Graph::ScopeGuard> enter_scope(Graph& g, const std::string& path) {
  std::vector<Graph::ScopeGuard> guards;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    guards.push_back(g.scope(std::string_view(path).substr(at, slash - at)));
    at = slash + 1;
  }
  return guards;
}

// "g.json node 7" while reading nodes, "g.json" otherwise.
std::string at(const std::string& file, int node) {
  return node >= 0 ? fmt::format("{} node {}", file, node) : file;
}

Shape read_shape(const json& j) {
  if (!j.is_array()) throw FormatError("shape is not an array");
  std::vector<int64_t> dims;
  for (const json& d : j) {
    if (!d.is_number_integer()) throw FormatError("shape holds something other than integers");
    dims.push_back(d.get<int64_t>());
  }
  try {
    return Shape(std::span<const int64_t>(dims));
  } catch (const ShapeError& e) {
    throw FormatError(e.what());
  }
}
}  // namespace

std::filesystem::path parameters_path(const std::filesystem::path& graph_path) {
  std::filesystem::path p = graph_path;
  return p.replace_extension(".safetensors");
}

void save_graph(const Graph& graph, const std::filesystem::path& path,
                const std::map<std::string, std::string, std::less<>>& meta) {
  json nodes = json::array();
  TensorMap data;
  for (const Node& n : graph.nodes()) {
    json j = {{"id", n.id},
              {"kind", to_string(n.kind)},
              {"name", n.name},
              {"scope", n.scope},
              {"shape", shape_json(n.shape)}};
    if (n.kind == NodeKind::Op) {
      j["op"] = n.op->name();
      j["inputs"] = n.inputs;
      j["attrs"] = json::object();
      for (const auto& [key, value] : n.attrs.ints) j["attrs"][key] = value;
    }
    if (n.kind == NodeKind::Parameter || n.kind == NodeKind::Constant)
      data.emplace(n.name, n.value);
    nodes.push_back(std::move(j));
  }
  json outputs = json::array();
  for (const auto& [name, id] : graph.outputs()) outputs.push_back({{"name", name}, {"node", id}});
  const std::filesystem::path tensors = parameters_path(path);
  const json doc = {{"format", kFormat},
                    {"version", kGraphFormatVersion},
                    {"parameters", tensors.filename().string()},
                    {"meta", meta},
                    {"nodes", std::move(nodes)},
                    {"outputs", std::move(outputs)}};
  // Parameters first: a graph file never points at a missing or partial parameters file.
  write_safetensors(tensors, data);
  try {
    write_atomically(path, [&](std::ostream& out) { out << doc.dump(1) << '\n'; });
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tensors, ignored);
    throw;
  }
}

GraphFile load_graph(const std::filesystem::path& path) {
  const std::string where = path.string();
  json doc;
  try {
    doc = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw FormatError(fmt::format("{}: not JSON ({})", where, e.what()));
  }
  GraphFile file{std::make_unique<Graph>(), {}};
  Graph& g = *file.graph;
  int current = -1;  // the node being read, for messages
  try {
    if (!doc.is_object() || doc.value("format", "") != kFormat)
      throw FormatError(
          fmt::format("not an rnngraph graph file (\"format\" is not \"{}\")", kFormat));
    if (!doc.contains("version") || !doc["version"].is_number_integer())
      throw FormatError("no integer \"version\"");
    if (doc["version"].get<int>() != kGraphFormatVersion)
      throw FormatError(fmt::format("version {} is not supported (this build reads version {})",
                                    doc["version"].dump(), kGraphFormatVersion));
    if (doc.contains("meta"))
      for (const auto& [key, value] : doc["meta"].items())
        file.meta[key] = value.get<std::string>();

    const std::filesystem::path tensors_path =
        path.parent_path() / doc.at("parameters").get<std::string>();
    const TensorMap tensors = read_safetensors(tensors_path);
    auto tensor = [&](const std::string& name, const Shape& shape) {
      auto it = tensors.find(name);
      if (it == tensors.end())
        throw FormatError(fmt::format("'{}' is missing from {}", name, tensors_path.string()));
      if (!(it->second.shape() == shape))
        throw FormatError(fmt::format("'{}' is {} in the graph but {} in {}", name, shape.str(),
                                      it->second.shape().str(), tensors_path.string()));
      return it->second;
    };

    const json& nodes = doc.at("nodes");
    if (!nodes.is_array()) throw FormatError("\"nodes\" is not an array");
    for (const json& j : nodes) {
      ++current;
      if (j.at("id").get<int>() != current)
        throw FormatError(fmt::format("node ids must count up from 0; found {} at position {}",
                                      j.at("id").dump(), current));
      const NodeKind kind = kind_from_string(j.at("kind").get<std::string>());
      const Shape shape = read_shape(j.at("shape"));
      const std::string name = j.at("name").get<std::string>();
      auto scope = enter_scope(g, j.value("scope", ""));
      Value v;
      switch (kind) {
        case NodeKind::Input:
          v = g.input(name, shape);
          break;
        case NodeKind::Parameter: {
          const Tensor data = tensor(name, shape);  // before allocating: the file backs the shape
          v = g.parameter(name, shape);
          std::copy_n(data.data(), shape.numel(), g.param(name).data());
        } break;
        case NodeKind::Constant:
          v = g.constant(name, tensor(name, shape).clone());
          break;
        case NodeKind::Op: {
          const std::string op_name = j.at("op").get<std::string>();
          const Op* op = find_op(op_name);
          if (!op) throw FormatError(fmt::format("unknown op '{}'", op_name));
          std::vector<Value> inputs;
          for (const json& in : j.at("inputs")) {
            const int id = in.get<int>();
            if (id < 0 || id >= int(nodes.size()))
              throw FormatError(fmt::format("input {} is a dangling node id", id));
            if (id >= current)
              throw FormatError(fmt::format("input {} is not an earlier node (a cycle)", id));
            inputs.emplace_back(g, id);
          }
          Attrs attrs;
          const json attr_json = j.value("attrs", json::object());
          for (const auto& [key, value] : attr_json.items()) attrs.ints[key] = value.get<int64_t>();
          v = g.apply(*op, inputs, std::move(attrs));
          break;
        }
      }
      if (!(v.shape() == shape))
        throw FormatError(
            fmt::format("the file says {}, the op gives {}", shape.str(), v.shape().str()));
    }
    current = -1;
    for (const json& o : doc.at("outputs")) {
      const int id = o.at("node").get<int>();
      if (id < 0 || id >= int(g.size()))
        throw FormatError(
            fmt::format("output '{}' names dangling node id {}", o.at("name").dump(), id));
      g.output(o.at("name").get<std::string>(), Value(g, id));
    }
  } catch (const json::exception& e) {
    throw FormatError(fmt::format("{}: malformed ({})", at(where, current), e.what()));
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("{}: {}", at(where, current), e.what()));
  } catch (const Error& e) {  // shape rules and duplicate names: the file is inconsistent
    throw FormatError(fmt::format("{}: inconsistent graph: {}", at(where, current), e.what()));
  }
  return file;
}

}  // namespace rnngraph::io
