#include <rnngraph/framework/io/graph_file.h>

#include <algorithm>
#include <functional>
#include <vector>

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/framework/io/safetensors.h>
#include <rnngraph/framework/memory.h>

namespace rnngraph::io {

namespace {
constexpr const char* kEmbeddedRecipe = "rnngraph.recipe";
using nlohmann::json;
constexpr std::string_view kFormat = "rnngraph.graph";

json shape_json(const Shape& s) { return std::vector<int64_t>(s.dims().begin(), s.dims().end()); }

NodeKind kind_from_string(std::string_view name) {
  for (NodeKind k : {NodeKind::Input, NodeKind::Parameter, NodeKind::Constant, NodeKind::Op})
    if (to_string(k) == name) return k;
  throw FormatError(fmt::format("unknown node kind {}", quote(name)));
}

Mark::Kind mark_kind_from_string(std::string_view name) {
  for (Mark::Kind k : {Mark::Kind::StepInput, Mark::Kind::InitialState, Mark::Kind::State,
                       Mark::Kind::Weight, Mark::Kind::OutputLayer, Mark::Kind::Derivative})
    if (to_string(k) == name) return k;
  throw FormatError(fmt::format("unknown mark {}", quote(name)));
}

// Files written before placements were stored: the step and layer from the scope's
// "step<t>" and "layer<k>" segments, which is how those files were built.
int legacy_index(const std::string& scope, std::string_view prefix) {
  std::size_t at = 0;
  while (at <= scope.size()) {
    std::size_t slash = scope.find('/', at);
    if (slash == std::string::npos) slash = scope.size();
    const std::string_view seg = std::string_view(scope).substr(at, slash - at);
    if (seg.starts_with(prefix) && seg.size() > prefix.size() && seg.size() - prefix.size() < 10 &&
        std::all_of(seg.begin() + prefix.size(), seg.end(),
                    [](char c) { return c >= '0' && c <= '9'; }))
      return std::stoi(std::string(seg.substr(prefix.size())));
    at = slash + 1;
  }
  return -1;
}

json attrs_json(const Attrs& attrs) {
  json j = json::object();
  for (const auto& [key, value] : attrs.ints) j[key] = value;
  for (const auto& [key, value] : attrs.floats) j[key] = value;
  for (const auto& [key, value] : attrs.lists) j[key] = value;
  return j;
}

// JSON integers, floats and integer arrays become the three kinds of attribute.
Attrs read_attrs(const json& j) {
  if (!j.is_object()) throw FormatError("\"attrs\" is not an object");
  Attrs attrs;
  for (const auto& [key, value] : j.items()) {
    if (value.is_number_integer())
      attrs.ints[key] = value.get<int64_t>();
    else if (value.is_number_float())
      attrs.floats[key] = value.get<double>();
    else if (value.is_array())
      attrs.lists[key] = value.get<std::vector<int64_t>>();
    else
      throw FormatError(fmt::format("attribute '{}' is neither a number nor a list", key));
  }
  return attrs;
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

namespace {
// The tensors first: a graph file never points at a missing or partial parameters file.
// The safetensors file first, then the JSON, each written atomically. A recipe file's JSON is
// also stored inside the safetensors file's metadata ("rnngraph.recipe"), which makes the pair
// crash-safe: killed between the two renames, the folder holds the new tensors beside the old
// JSON, and read_graph_file takes the JSON the tensors carry, so a reader always sees the old
// pair or the new one, never a mix. (Node-by-node files, whose JSON can be large, do not embed
// it; on a failed JSON write their new tensors are removed.)
// Temporary files an earlier save of this pair left when it was killed ("<name>.tmp-*"), removed
// so that repeated kills do not pile them up.
void remove_stale_temporaries(const std::filesystem::path& path) {
  std::error_code error;
  const std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
  const std::string prefix = path.filename().string() + ".tmp-";
  for (const auto& entry : std::filesystem::directory_iterator(folder, error))
    if (entry.path().filename().string().starts_with(prefix))
      std::filesystem::remove(entry.path(), error);
}

void write_pair(const std::filesystem::path& path, const TensorMap& data, const json& doc,
                const Dtypes& stored = {}) {
  const std::filesystem::path tensors = parameters_path(path);
  remove_stale_temporaries(path);
  remove_stale_temporaries(tensors);
  const bool recipe = doc.value("recipe", false);
  json stamped = doc;
  if (recipe)
    stamped["save"] = fmt::format("{:08x}{:08x}", std::random_device{}(), std::random_device{}());
  const std::string text = stamped.dump(1) + "\n";
  write_safetensors(tensors, data, recipe ? Metadata{{kEmbeddedRecipe, text}} : Metadata{}, stored);
  try {
    write_atomically(path, [&](std::ostream& out) { out << text; });
  } catch (...) {
    if (!recipe) {
      std::error_code ignored;
      std::filesystem::remove(tensors, ignored);
    }
    throw;
  }
}
}  // namespace

namespace {
// The nodes and outputs of `graph` as JSON. With `data`, parameters and constants go there by
// name; without (a graph stored inside another file, such as a cell's step graph), parameters
// keep only their shape and constants carry their values inline.
json graph_json(const Graph& graph, TensorMap* data) {
  json nodes = json::array();
  for (const Node& n : graph.nodes()) {
    json j = {{"id", n.id},
              {"kind", to_string(n.kind)},
              {"name", n.name},
              {"scope", n.scope},
              {"shape", shape_json(n.shape)}};
    if (n.step >= 0) j["step"] = n.step;
    if (n.layer >= 0) j["layer"] = n.layer;
    if (n.backward) j["backward"] = true;
    if (n.reverse) j["reverse"] = true;
    if (n.mark) {
      j["mark"] = {{"kind", to_string(n.mark.kind)}, {"role", n.mark.role}};
      if (n.mark.slot != 0) j["mark"]["slot"] = n.mark.slot;
      if (!n.mark.label.empty()) j["mark"]["label"] = n.mark.label;
    }
    if (n.kind == NodeKind::Op) {
      j["op"] = n.op->name();
      j["inputs"] = n.inputs;
      j["attrs"] = attrs_json(n.attrs);
    }
    if (n.kind == NodeKind::Constant && !data)
      j["value"] = std::vector<float>(n.value.data(), n.value.data() + n.value.numel());
    else if ((n.kind == NodeKind::Parameter || n.kind == NodeKind::Constant) && data)
      if (!data->emplace(n.name, n.value).second)
        throw GraphError(fmt::format("'{}' is both a node and an extra tensor", n.name));
    nodes.push_back(std::move(j));
  }
  json outputs = json::array();
  for (const auto& [name, id] : graph.outputs()) outputs.push_back({{"name", name}, {"node", id}});
  return {{"nodes", std::move(nodes)}, {"outputs", std::move(outputs)}};
}
}  // namespace

void save_graph(const Graph& graph, const std::filesystem::path& path,
                const std::map<std::string, std::string, std::less<>>& meta,
                const TensorMap& extra) {
  TensorMap data = extra;
  json doc = graph_json(graph, &data);
  const std::filesystem::path tensors = parameters_path(path);
  write_pair(path, data,
             {{"format", kFormat},
              {"version", kGraphFormatVersion},
              {"parameters", tensors.filename().string()},
              {"meta", meta},
              {"nodes", std::move(doc["nodes"])},
              {"outputs", std::move(doc["outputs"])}});
}

void save_recipe(const std::filesystem::path& path,
                 const std::map<std::string, std::string, std::less<>>& meta,
                 const TensorMap& tensors, const NamedGraphs& graphs, const Dtypes& stored) {
  json doc = {{"format", kFormat},
              {"version", kGraphFormatVersion},
              {"parameters", parameters_path(path).filename().string()},
              {"meta", meta},
              {"recipe", true}};
  for (const auto& [name, graph] : graphs) doc["graphs"][name] = graph_json(*graph, nullptr);
  write_pair(path, tensors, doc, stored);
}

namespace {
// The nodes and outputs of `doc` into `g`, through the ordinary builder. `tensor(name, shape)`
// gives a parameter's or constant's data; without it (a graph stored inside another file) a
// parameter is made from its shape and a constant carries its values inline. `current` is the
// node being read, for messages.
Tensor inline_constant(const json& j, const Shape& shape) {
  const json& values = j.at("value");
  if (!values.is_array() || int64_t(values.size()) != shape.numel())
    throw FormatError(fmt::format("a constant {} needs {} values", shape.str(), shape.numel()));
  Tensor t(shape);
  for (std::size_t i = 0; i < values.size(); ++i) t.data()[i] = values[i].get<float>();
  return t;
}

using TensorLookup = std::function<Tensor(const std::string&, const Shape&)>;
void read_nodes(const json& doc, Graph& g, const TensorLookup& tensor, int& current) {
  const json& nodes = doc.at("nodes");
  if (!nodes.is_array()) throw FormatError("\"nodes\" is not an array");
  for (const json& j : nodes) {
    ++current;
    if (j.at("id").get<int>() != current)
      throw FormatError(fmt::format("node ids must count up from 0; found {} at position {}",
                                    j.at("id").dump(), current));
    NodeSpec spec;
    spec.kind = kind_from_string(j.at("kind").get<std::string>());
    spec.shape = read_shape(j.at("shape"));
    spec.name = j.at("name").get<std::string>();
    Placement& at = spec.placement;
    at.scope = j.value("scope", "");
    at.step = j.contains("step") ? j["step"].get<int>() : legacy_index(at.scope, "step");
    at.layer = j.contains("layer") ? j["layer"].get<int>() : legacy_index(at.scope, "layer");
    at.backward = j.value("backward", false);
    at.reverse = j.value("reverse", false);
    if (j.contains("mark")) {
      const json& m = j["mark"];
      spec.mark = {.kind = mark_kind_from_string(m.at("kind").get<std::string>()),
                   .role = m.value("role", ""),
                   .slot = m.value("slot", 0),
                   .label = m.value("label", "")};
      if (spec.mark.slot < 0 || spec.mark.slot > 1000)
        throw FormatError(
            fmt::format("a state's slot is between 0 and 1000, got {}", spec.mark.slot));
    }
    constexpr int kMaxIndex = 1 << 30;
    if (at.step < -1 || at.layer < -1 || at.step > kMaxIndex || at.layer > kMaxIndex)
      throw FormatError(fmt::format("step and layer are between -1 and {}", kMaxIndex));
    std::vector<Value> inputs;
    switch (spec.kind) {
      case NodeKind::Input:
        break;
      case NodeKind::Parameter:
      case NodeKind::Constant:
        // The file's tensor, whose size backs the shape: nothing is allocated from a shape
        // the data does not back. A stored graph's parameter is a placeholder (zeros, within
        // the memory limit); its constants are inline.
        if (tensor)
          spec.value = tensor(spec.name, spec.shape);
        else if (spec.kind == NodeKind::Constant)
          spec.value = inline_constant(j, spec.shape);
        break;
      case NodeKind::Op: {
        const std::string op_name = j.at("op").get<std::string>();
        spec.op = find_op(op_name);
        if (!spec.op) throw FormatError(fmt::format("unknown op {}", quote(op_name)));
        for (const json& in : j.at("inputs")) {
          const int id = in.get<int>();
          if (id < 0 || id >= int(nodes.size()))
            throw FormatError(fmt::format("input {} is a dangling node id", id));
          if (id >= current)
            throw FormatError(fmt::format("input {} is not an earlier node (a cycle)", id));
          inputs.emplace_back(g, id);
        }
        spec.attrs = read_attrs(j.value("attrs", json::object()));
        break;
      }
    }
    const Value v = g.add(spec, inputs);
    if (!(v.shape() == spec.shape))
      throw FormatError(
          fmt::format("the file says {}, the op gives {}", spec.shape.str(), v.shape().str()));
  }
  current = -1;
  for (const json& o : doc.at("outputs")) {
    const int id = o.at("node").get<int>();
    if (id < 0 || id >= int(g.size()))
      throw FormatError(
          fmt::format("output '{}' names dangling node id {}", o.at("name").dump(), id));
    g.output(o.at("name").get<std::string>(), Value(g, id));
  }
}

}  // namespace

GraphFile load_graph(const std::filesystem::path& path) {
  GraphFile file = read_graph_file(path);
  if (!file.graph)
    throw FormatError(
        fmt::format("{}: a model recipe file (no nodes): read it with models::load_file, which "
                    "builds the graph",
                    path.string()));
  return file;
}

GraphFile read_graph_file(const std::filesystem::path& path) {
  const std::string where = path.string();
  // Files that sit beside a model and are easily passed for it: say which file to pass.
  const std::string extension = path.extension().string();
  if (extension == ".safetensors")
    throw FormatError(fmt::format(
        "{}: a weights file; pass the model's .json, which names its weights file", where));
  if (extension == ".onnx")
    throw FormatError(fmt::format(
        "{}: an ONNX model; 'rnngraph import' turns it into a model file first", where));
  if (extension == ".npy" || extension == ".csv")
    throw FormatError(fmt::format("{}: an array or a log; pass the model's .json", where));
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

    const std::string parameters = doc.at("parameters").get<std::string>();
    if (parameters.empty() || parameters.find('/') != std::string::npos || parameters == "." ||
        parameters == "..")
      throw FormatError(fmt::format("\"parameters\" must name a file beside the graph file, got {}",
                                    quote(parameters)));
    const std::filesystem::path tensors_path = path.parent_path() / parameters;
    Metadata tensor_meta;
    const TensorMap tensors = read_safetensors(tensors_path, &tensor_meta);
    // A recipe file's tensors carry the JSON they were written with, stamped with a save id:
    // another id than the JSON's means a save was cut between the two files, and the tensors
    // are the newer half (see write_pair). The same id with other content is an edit of the
    // JSON by hand, which stands.
    const auto embedded = tensor_meta.find(kEmbeddedRecipe);
    const json newer =
        embedded == tensor_meta.end() ? json() : json::parse(embedded->second, nullptr, false);
    const bool newer_wins = newer.is_object() && doc.value("recipe", false) &&
                            newer.value("save", std::string()) != doc.value("save", std::string());
    if (newer_wins) {
      if (!newer.value("recipe", false) || !newer.contains("meta") || !newer["meta"].is_object())
        throw FormatError(
            fmt::format("{} carries a recipe that is not one", tensors_path.string()));
      file.meta.clear();
      for (const auto& [key, value] : newer["meta"].items())
        file.meta[key] = value.get<std::string>();
    }
    auto tensor = [&](const std::string& name, const Shape& shape) {
      auto it = tensors.find(name);
      if (it == tensors.end())
        throw FormatError(fmt::format("'{}' is missing from {}", name, tensors_path.string()));
      if (!(it->second.shape() == shape))
        throw FormatError(fmt::format("'{}' is {} in the graph but {} in {}", name, shape.str(),
                                      it->second.shape().str(), tensors_path.string()));
      return it->second;
    };

    if (doc.value("recipe", false)) {  // no nodes: models::load_file builds them
      if (file.meta.empty()) throw FormatError("a recipe file without a recipe (\"meta\")");
      const json& source = newer_wins ? newer : doc;
      if (source.contains("graphs")) {
        if (!source["graphs"].is_object()) throw FormatError("\"graphs\" is not an object");
        for (const auto& [name, stored] : source["graphs"].items()) {
          auto graph = std::make_shared<Graph>();
          try {
            int node = -1;
            read_nodes(stored, *graph, nullptr, node);
          } catch (const Error& e) {
            throw FormatError(fmt::format("stored graph '{}': {}", name, e.what()));
          }
          file.graphs.emplace(name, std::move(graph));
        }
      }
      file.graph.reset();
      file.extra = tensors;
      return file;
    }
    read_nodes(doc, g, tensor, current);
    for (const auto& [name, t] : tensors)
      if (!g.contains(name)) file.extra.emplace(name, t);
  } catch (const json::exception& e) {
    throw FormatError(fmt::format("{}: malformed ({})", at(where, current), e.what()));
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("{}: {}", at(where, current), e.what()));
  } catch (const MemoryError& e) {  // the file is fine: the memory limit is too small for it
    throw MemoryError(fmt::format("{}: {}", at(where, current), e.what()));
  } catch (const Error& e) {  // shape rules and duplicate names: the file is inconsistent
    throw FormatError(fmt::format("{}: inconsistent graph: {}", at(where, current), e.what()));
  }
  return file;
}

}  // namespace rnngraph::io
