#include <rnngraph/framework/executor.h>

#include <rnngraph/framework/memory.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph {

namespace {

std::size_t aligned_bytes(const Shape& s) {
  const std::size_t bytes = std::size_t(s.numel()) * sizeof(float);
  return (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
}

// Best-fit allocation of byte ranges in one growing arena; freed neighbours merge. Only sizes
// and offsets are tracked: no memory is touched while planning.
class ArenaPlanner {
 public:
  std::size_t allocate(std::size_t size) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best == free_.end()) {
      // Grow, absorbing a free block that ends at the top.
      std::size_t offset = end_;
      if (!free_.empty() && free_.back().first + free_.back().second == end_) {
        offset = free_.back().first;
        free_.pop_back();
      }
      end_ = offset + size;
      return offset;
    }
    const std::size_t offset = best->first;
    if (best->second == size)
      free_.erase(best);
    else
      *best = {best->first + size, best->second - size};
    return offset;
  }

  void release(std::size_t offset, std::size_t size) {
    auto it = std::lower_bound(free_.begin(), free_.end(), std::pair{offset, std::size_t(0)});
    it = free_.insert(it, {offset, size});
    if (auto next = it + 1; next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = it - 1;
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  std::size_t size() const { return end_; }

 private:
  std::vector<std::pair<std::size_t, std::size_t>> free_;  // (offset, size), sorted by offset
  std::size_t end_ = 0;
};

}  // namespace

namespace {
GraphOptimizer installed_optimizer = nullptr;
}  // namespace

void install_graph_optimizer(GraphOptimizer optimizer) { installed_optimizer = optimizer; }

Plan::Plan(const Graph& source, std::span<const std::string> outputs, PlanOptions options)
    : graph_(&source) {
  if (options.optimize && installed_optimizer) {
    optimized_ = installed_optimizer(source);
    graph_ = optimized_.get();
  }
  const Graph& graph = *graph_;
  const auto nodes = graph.nodes();
  const int n = int(nodes.size());

  // Which outputs.
  if (outputs.empty()) {
    outputs_ = graph.outputs();
  } else {
    for (const std::string& name : outputs) {
      const int id = graph.output_id(name);
      if (id < 0) throw GraphError(fmt::format("the graph has no output named '{}'", name));
      outputs_.emplace_back(name, id);
    }
  }
  if (outputs_.empty()) throw GraphError("nothing to compute: the graph declares no outputs");

  // Needed nodes: what the outputs depend on.
  std::vector<int> output_ids;
  for (const auto& [name, id] : outputs_) output_ids.push_back(id);
  const std::vector<char> needed = graph.ancestors(output_ids);

  // Which needed op nodes are windows of their first input, and where (asked once per node).
  std::vector<std::optional<int64_t>> view_offset(n);
  std::vector<Shape> shapes;
  for (int id = 0; id < n; ++id) {
    if (!needed[id] || nodes[id].kind != NodeKind::Op) continue;
    shapes.clear();
    for (int in : nodes[id].inputs) shapes.push_back(nodes[in].shape);
    view_offset[id] = nodes[id].op->view_offset(shapes, nodes[id].attrs);
  }

  // Results assembled in place: a node that lays its inputs end to end (stack, concat along the
  // first axis), such as y = stack(h_1 ... h_T) or the row gradients a weight's gradient
  // multiplies stacked over the steps, gets its buffer when its first part is computed, and each
  // part is computed straight into its place, so the parts take no memory of their own and the
  // assembling op never runs. A part is an op result that is not a view, or a reshape of one (a
  // whole assembled in turn: a stack of chunks, each a stack of steps), used once by its whole
  // and claimed by no other. Outputs claim their parts first, then other nodes in graph order.
  std::vector<int> part_of(n, -1);         // the whole a node is written into
  std::vector<int64_t> part_offset(n, 0);  // where in it, in bytes
  std::vector<char> assembled(n, 0);
  // The node whose data a part is: through reshapes (views of all of their base) to their base.
  const auto data_of = [&](int id) {
    while (view_offset[id] == 0 &&
           nodes[id].shape.numel() == nodes[nodes[id].inputs[0]].shape.numel())
      id = nodes[id].inputs[0];
    return id;
  };
  const auto assemble = [&](int id) {
    const Node& whole = nodes[id];
    if (!needed[id] || whole.kind != NodeKind::Op || assembled[id] || view_offset[id] ||
        !whole.op->lays_inputs_end_to_end(whole.attrs))
      return;
    std::vector<int> parts;
    for (int in : whole.inputs) {
      const int part = data_of(in);
      if (nodes[part].kind != NodeKind::Op || part_of[part] != -1 || view_offset[part] ||
          std::count(parts.begin(), parts.end(), part) > 0 || part == id)
        return;
      parts.push_back(part);
    }
    assembled[id] = 1;
    int64_t at = 0;
    for (int part : parts) {
      part_of[part] = id;
      part_offset[part] = at;
      at += nodes[part].shape.numel() * int64_t(sizeof(float));
    }
  };
  for (const auto& [name, id] : outputs_) assemble(id);
  for (int id = 0; id < n; ++id) assemble(id);
  // The outermost whole a node is written into (itself if none), and its offset there in bytes.
  const auto top_of = [&](int id) {
    while (part_of[id] >= 0) id = part_of[id];
    return id;
  };
  const auto offset_in_top = [&](int id) {
    int64_t at = 0;
    for (; part_of[id] >= 0; id = part_of[id]) at += part_offset[id];
    return std::size_t(at);
  };

  // Homes, and the buffer ("root") that owns each view's data.
  slots_.resize(n);
  // Where a node's data is: the node whose buffer holds it (a view's base, a part's outermost
  // whole) and its offset there in elements. Asked only of nodes whose slot is made.
  const auto location = [&](int id) {
    int64_t at = 0;
    if (slots_[id].home == Home::View) at = slots_[id].elements, id = slots_[id].base;
    return std::pair{top_of(id), at + int64_t(offset_in_top(id) / sizeof(float))};
  };
  // A node that lays its inputs end to end, not assembled, whose inputs already lie end to end
  // in one buffer (the rows a weight's gradient multiplies, gathered once for its input side and
  // again for its recurrent side): a view of them there, not a copy.
  const auto laid_in_place = [&](int id) -> std::optional<std::pair<int, int64_t>> {
    const Node& node = nodes[id];
    if (assembled[id] || part_of[id] >= 0 || !node.op->lays_inputs_end_to_end(node.attrs))
      return std::nullopt;
    const auto first = location(node.inputs[0]);
    int64_t next = first.second;
    for (int in : node.inputs) {
      if (location(in) != std::pair{first.first, next}) return std::nullopt;
      next += nodes[in].shape.numel();
    }
    return first;
  };
  std::vector<int> root(n);
  owns_slot_.assign(std::size_t(n), 0);
  for (int id = 0; id < n; ++id) {
    root[id] = id;
    if (!needed[id]) continue;
    const Node& node = nodes[id];
    Slot& slot = slots_[id];
    switch (node.kind) {
      case NodeKind::Input:
        slot.home = Home::Feed;
        inputs_.push_back(id);
        break;
      case NodeKind::Parameter:
      case NodeKind::Constant:
        slot.home = Home::Persistent;
        break;
      case NodeKind::Op: {
        if (const auto offset = view_offset[id]) {
          const int base = node.inputs[0];
          const bool base_is_view = slots_[base].home == Home::View;
          slot = {Home::View, 0, base_is_view ? slots_[base].base : base,
                  *offset + (base_is_view ? slots_[base].elements : 0)};
          root[id] = root[base];
          views_.push_back(id);
        } else if (const auto at = laid_in_place(id)) {
          slot = {Home::View, 0, at->first, at->second};
          root[id] = root[at->first];
          views_.push_back(id);
        } else {
          slot.home = Home::Arena;
          root[id] = top_of(id);
          if (!assembled[id]) schedule_.push_back(id);
          owns_slot_[id] = !assembled[id] && part_of[id] < 0;
        }
        break;
      }
    }
  }

  // Last use of every arena buffer, counting uses through views; outputs are never freed.
  constexpr int kForever = std::numeric_limits<int>::max();
  std::vector<int> last_use(n, -1);
  for (int step = 0; step < int(schedule_.size()); ++step)
    for (int in : nodes[schedule_[step]].inputs) last_use[root[in]] = step;
  for (auto& [name, id] : outputs_) last_use[root[id]] = kForever;

  ArenaPlanner arena;
  std::vector<char> allocated(n, 0);
  for (int step = 0; step < int(schedule_.size()); ++step) {
    const int id = schedule_[step];
    // Allocate before freeing the inputs: kernels never write over what they read.
    // A part goes to its place in its outermost whole, which lives as long as any of its parts
    // is read.
    const int whole = top_of(id);
    if (whole != id && !allocated[whole]) {
      slots_[whole].offset = arena.allocate(aligned_bytes(nodes[whole].shape));
      allocated[whole] = 1;
    }
    slots_[id].offset = whole != id ? slots_[whole].offset + offset_in_top(id)
                                    : arena.allocate(aligned_bytes(nodes[id].shape));
    if (!options.reuse_memory) continue;
    if (whole != id) last_use[id] = -2;           // freed with the whole, never on its own
    if (last_use[id] == -1) last_use[id] = step;  // never read: free at once
    for (int in : nodes[id].inputs) {
      const int r = root[in];
      if (slots_[r].home == Home::Arena && last_use[r] == step) {
        arena.release(slots_[r].offset, aligned_bytes(nodes[r].shape));
        last_use[r] = -2;  // released (an input may appear twice)
      }
    }
    if (last_use[id] == step) arena.release(slots_[id].offset, aligned_bytes(nodes[id].shape));
  }
  // Wholes inside wholes are not scheduled: their place, now that the outermost ones have theirs.
  for (int id = 0; id < n; ++id)
    if (assembled[id] && part_of[id] >= 0)
      slots_[id].offset = slots_[top_of(id)].offset + offset_in_top(id);
  arena_bytes_ = arena.size();
}

const Plan::Slot& Plan::slot(int id) const {
  if (id < 0 || id >= int(slots_.size()))
    throw GraphError(fmt::format(
        "node {} is not in this plan, which was made when the graph had {} nodes: plan again", id,
        slots_.size()));
  return slots_[id];
}

void Results::set(std::string_view name, const Tensor& tensor) {
  for (auto& [key, value] : items_)
    if (key == name) {
      value = tensor;
      return;
    }
  items_.emplace_back(std::string(name), tensor);
}

const Tensor& Results::operator[](std::string_view name) const {
  for (const auto& [key, tensor] : items_)
    if (key == name) return tensor;
  throw GraphError(fmt::format("no result named '{}'", name));
}

Executor::Executor(const Graph& graph, std::span<const std::string> outputs, PlanOptions options)
    : Executor(std::make_shared<const Plan>(graph, outputs, options)) {}

Executor::Executor(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {
  const Graph& graph = plan_->graph();
  if (plan_->arena_bytes() > 0) {
    arena_ = memory::allocate(plan_->arena_bytes(), [&] {
      return fmt::format("the arena of a plan of {} ops", plan_->schedule().size());
    });
  }
  // Only the nodes the plan knows: the graph may have grown since.
  tensors_.resize(std::size_t(plan_->node_count()));
  std::size_t max_arity = 0;
  for (const Node& node : graph.nodes().first(std::size_t(plan_->node_count()))) {
    const Plan::Slot& slot = plan_->slot(node.id);
    if (slot.home == Plan::Home::Persistent) tensors_[node.id] = node.value;
    if (slot.home == Plan::Home::Arena) tensors_[node.id] = arena_tensor(node.id);
    max_arity = std::max(max_arity, node.inputs.size());
  }
  args_.resize(max_arity);
  for (const auto& [name, id] : plan_->outputs()) results_.items_.emplace_back(name, Tensor());
}

void Executor::bind_feeds(const Feeds& feeds) {
  const Graph& graph = plan_->graph();
  for (const auto& [name, tensor] : feeds) {
    if (!graph.contains(name) || graph.find(name).kind != NodeKind::Input)
      throw GraphError(fmt::format("feed '{}' does not name an input of the graph", name));
  }
  for (int id : plan_->inputs()) {
    const Node& node = graph.node(id);
    auto it = feeds.find(node.name);
    if (it == feeds.end())
      throw GraphError(fmt::format("input '{}' {} was not fed", node.name, node.shape.str()));
    if (it->second.empty() || !(it->second.shape() == node.shape))
      throw ShapeError(
          fmt::format("input '{}' expects {}, fed {}", node.name, node.shape.str(),
                      it->second.empty() ? "an empty tensor" : it->second.shape().str()));
    tensors_[id] = it->second;
  }
  bind_views();
}

// Views follow their base, which may be a feed: rebind them every run.
void Executor::bind_views() {
  const Graph& graph = plan_->graph();
  for (int id : plan_->views()) {
    const Plan::Slot& slot = plan_->slot(id);
    tensors_[id] = Tensor::view(graph.node(id).shape, tensors_[slot.base].data() + slot.elements);
  }
}

namespace {
bool all_finite(const Tensor& t) {
  // Summing x·0 is NaN exactly when some x is NaN or infinite: one branch-free pass.
  float probe = 0;
  for (float v : t.values()) probe += v * 0.0f;
  return probe == 0;
}

// "[-1.5, 2.25]", with the count of NaNs and infinities when there are any and the index of
// the first ("first at [9, 2]": for rows of several steps, the row says which).
std::string value_range(const Tensor& t) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  int64_t nan = 0, inf = 0, first = -1;
  const auto values = t.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (std::isfinite(v)) {
      lo = std::min(lo, v), hi = std::max(hi, v);
      continue;
    }
    ++(std::isnan(v) ? nan : inf);
    if (first < 0) first = int64_t(i);
  }
  std::string out = lo <= hi ? fmt::format("[{:.4g}, {:.4g}]", lo, hi) : "no finite value";
  if (nan) out += fmt::format(", {} NaN", nan);
  if (inf) out += fmt::format(", {} inf", inf);
  if (first >= 0) {
    const auto dims = t.shape().dims();
    std::vector<int64_t> index(dims.size());
    for (std::size_t d = dims.size(); d-- > 0; first /= dims[d]) index[d] = first % dims[d];
    out += fmt::format(", first at [{}]", fmt::join(index, ", "));
  }
  return out;
}
}  // namespace

void Executor::report_non_finite(const Node& node) const {
  const Graph& graph = plan_->graph();
  std::string inputs;
  for (int in : node.inputs)
    inputs += fmt::format("{}{} {} {}", inputs.empty() ? "" : "; ", graph.node(in).name,
                          graph.node(in).shape.str(), value_range(tensors_[in]));
  throw NumericError(
      fmt::format("{} (op {}{}{}{}) produced {}; its inputs: {}", node.path(), node.op->name(),
                  node.step >= 0 ? fmt::format(", step {}", node.step) : "",
                  node.layer >= 0 ? fmt::format(", layer {}", node.layer) : "",
                  node.backward ? ", backward" : "", value_range(tensors_[node.id]), inputs));
}

void Executor::restore_redirected() {
  for (int id : redirected_) tensors_[id] = arena_tensor(id);
  redirected_.clear();
}

const Results& Executor::run(const Feeds& feeds) {
  restore_redirected();
  bind_feeds(feeds);
  return run_schedule();
}

const Results& Executor::run_positional(std::span<const Tensor> inputs) {
  return run_positional(inputs, {});
}

bool Executor::writes_into_arena(std::size_t output) const {
  return output < plan_->outputs().size() && plan_->owns_slot(plan_->outputs()[output].second);
}

Tensor Executor::arena_tensor(int id) const {
  return Tensor::view(
      plan_->graph().node(id).shape,
      reinterpret_cast<float*>(reinterpret_cast<char*>(arena_.get()) + plan_->slot(id).offset));
}

const Results& Executor::run_positional(std::span<const Tensor> inputs,
                                        std::span<const Tensor> into) {
  const Graph& graph = plan_->graph();
  restore_redirected();
  // An output's slot is never reused after it is computed, and one it owns holds no other
  // value meanwhile, so writing it elsewhere changes no other value; its views follow it
  // (bind_views).
  if (into.size() > plan_->outputs().size())
    throw GraphError(fmt::format("{} outputs to write into; the plan has {}", into.size(),
                                 plan_->outputs().size()));
  for (std::size_t i = 0; i < into.size(); ++i) {
    if (into[i].empty()) continue;
    const Node& node = graph.node(plan_->outputs()[i].second);
    if (!writes_into_arena(i))
      throw GraphError(fmt::format("output '{}' is not computed into a slot of its own",
                                   plan_->outputs()[i].first));
    if (!(into[i].shape() == node.shape))
      throw ShapeError(fmt::format("output '{}' is {}; the memory given for it is {}",
                                   plan_->outputs()[i].first, node.shape.str(),
                                   into[i].shape().str()));
    tensors_[node.id] = into[i];
    redirected_.push_back(node.id);
  }
  if (inputs.size() != plan_->inputs().size())
    throw GraphError(fmt::format("the plan reads {} inputs, {} were given", plan_->inputs().size(),
                                 inputs.size()));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Node& node = graph.node(plan_->inputs()[i]);
    if (!(inputs[i].shape() == node.shape))
      throw ShapeError(fmt::format("input '{}' expects {}, fed {}", node.name, node.shape.str(),
                                   inputs[i].shape().str()));
    tensors_[node.id] = inputs[i];
  }
  bind_views();
  return run_schedule();
}

const Results& Executor::run_schedule() {
  const Graph& graph = plan_->graph();
  for (int id : plan_->schedule()) {
    const Node& node = graph.node(id);
    for (std::size_t i = 0; i < node.inputs.size(); ++i) args_[i] = tensors_[node.inputs[i]];
    try {
      node.op->forward(std::span<const Tensor>(args_.data(), node.inputs.size()), tensors_[id],
                       node.attrs);
    } catch (const ShapeError& e) {  // data-dependent checks (class ids out of range)
      throw ShapeError(fmt::format("{} ({}): {}", node.path(), node.op->name(), e.what()));
    }
    if (check_numerics_ && !all_finite(tensors_[id])) report_non_finite(node);
  }
  for (std::size_t i = 0; i < results_.items_.size(); ++i)
    results_.items_[i].second = tensors_[plan_->outputs()[i].second];
  return results_;
}

}  // namespace rnngraph
