#include <rnngraph/models/rolled.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <list>
#include <optional>

#include <unistd.h>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

namespace {

// One core's L2 cache, as the C library reports it (1 MiB when it does not).
std::size_t l2_cache_bytes() {
  const long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return bytes > 0 ? std::size_t(bytes) : std::size_t(1) << 20;
}

// The cell's step graph for layer k (direction `reverse`) and batch B, on the model's weights
// (shared, not copied; checked by recipe_weights already).
std::unique_ptr<Graph> step_graph_for(const Config& c, const io::TensorMap& weights, int64_t k,
                                      bool reverse, int64_t B) {
  const CellSizes sizes = cell_sizes(c, k);
  auto g = step_graph(c.cell, sizes, B);
  const std::vector<CellParameter> roles = cell_parameters(c.cell, sizes);
  const std::vector<ParameterSpec> specs = layer_parameters(c, k, reverse);
  for (std::size_t i = 0; i < specs.size(); ++i)
    g->share_parameter(roles[i].role, weights.at(specs[i].name));
  return g;
}

// Whether op node `n` computes each row of its result from the same row of its inputs that
// depend on x (`from_x`), the others being static and broadcast over the rows: then it can run
// on a chunk of steps' rows at once.
bool row_wise(const Graph& g, const Node& n, const std::vector<char>& from_x) {
  if (n.shape.rank() != 2) return false;
  auto x_input = [&](std::size_t i) { return from_x[std::size_t(n.inputs[i])] != 0; };
  auto rows_of_x = [&](std::size_t i) { return g.node(n.inputs[i]).shape.rank() == 2; };
  auto broadcast = [&](std::size_t i) {  // a static operand the same for every row
    const Shape& s = g.node(n.inputs[i]).shape;
    return s.rank() == 1 || s[0] == 1;
  };
  const int last = n.shape.rank() - 1;
  if (n.is(matmul_op())) return x_input(0) && !x_input(1) && !n.attrs.get("transpose_a", 0);
  if (n.is(matmul_packed_op()) || n.is(matmul_int8_op()) || n.is(matmul_bf16_op()))
    return x_input(0) && !x_input(1) && !x_input(2);
  if (n.is(add_op()) || n.is(sub_op()) || n.is(mul_op()) || n.is(div_op())) {
    for (std::size_t i = 0; i < n.inputs.size(); ++i)
      if (x_input(i) ? !rows_of_x(i) : !broadcast(i)) return false;
    return true;
  }
  if (n.is(sigmoid_op()) || n.is(tanh_op()) || n.is(exp_op()) || n.is(log_op()) ||
      n.is(layer_norm_op()))
    return true;
  if (n.is(softmax_op())) return n.attrs.get("axis", -1) == last || n.attrs.get("axis", -1) == -1;
  if (n.is(concat_op()) || n.is(slice_op())) {
    for (std::size_t i = 0; i < n.inputs.size(); ++i)
      if (!x_input(i)) return false;
    const int64_t axis = n.attrs.get("axis", 0);
    return axis == last || axis == -1;
  }
  return false;
}

// A plan that owns its graph (the aliasing shared_ptr), so a plan evicted from a cache but still
// in use by some run keeps its graph, and neither outlives its last user.
std::shared_ptr<const Plan> owned_plan(std::unique_ptr<Graph> graph) {
  struct Owned {
    std::unique_ptr<Graph> graph;
    std::optional<Plan> plan;
  };
  auto owned = std::make_shared<Owned>();
  owned->graph = std::move(graph);
  owned->plan.emplace(*owned->graph, std::span<const std::string>(),
                      PlanOptions{.optimize = false});
  return std::shared_ptr<const Plan>(owned, &*owned->plan);
}

void split(RolledPlan::Layer& l) {
  const Graph& g = *l.step;
  const std::size_t N = g.size();
  std::vector<char> from_state(N, 0), from_x(N, 0), hoisted(N, 0);
  for (const Node& n : g.nodes()) {
    const std::size_t id = std::size_t(n.id);
    if (n.kind == NodeKind::Input) {
      (n.name == "x" ? from_x : from_state)[id] = 1;
      continue;
    }
    for (int in : n.inputs) {
      from_state[id] |= from_state[std::size_t(in)];
      from_x[id] |= from_x[std::size_t(in)];
    }
    hoisted[id] = n.kind == NodeKind::Op && !from_state[id] &&
                  std::all_of(n.inputs.begin(), n.inputs.end(),
                              [&](int in) {
                                const Node& i = g.node(in);
                                return hoisted[std::size_t(in)] || i.kind != NodeKind::Op;
                              }) &&
                  (!from_x[id] || row_wise(g, n, from_x));
  }
  std::vector<char> read_in_loop(N, 0);
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Op && !hoisted[std::size_t(n.id)])
      for (int in : n.inputs) read_in_loop[std::size_t(in)] = 1;
  for (const auto& [name, id] : g.outputs()) read_in_loop[std::size_t(id)] = 1;
  // Static hoisted nodes that the chunk plan reads
  std::vector<char> read_per_row(N, 0);
  for (const Node& n : g.nodes())
    if (hoisted[std::size_t(n.id)] && from_x[std::size_t(n.id)])
      for (int in : n.inputs) read_per_row[std::size_t(in)] = 1;
  std::vector<int> frontier_of(N, -1);
  int per_row_outputs = 0;
  for (const Node& n : g.nodes()) {
    const auto id = std::size_t(n.id);
    if (!hoisted[id]) continue;
    l.hoisted_nodes.push_back(n.id);
    const bool is_static = !from_x[id];
    if (!is_static) l.row_nodes.push_back(n.id);
    if (is_static && (read_in_loop[id] || read_per_row[id])) l.static_outputs.push_back(n.id);
    if (read_in_loop[id]) {
      frontier_of[id] = int(l.frontier.size());
      l.frontier.push_back(n.id);
      l.per_row.push_back(!is_static);
      l.frontier_at.push_back(is_static ? int(l.static_outputs.size()) - 1 : per_row_outputs++);
    }
  }
  if (!l.static_outputs.empty()) {
    auto s = std::make_unique<Graph>();
    std::vector<Value> mapped(N);
    for (int id : l.hoisted_nodes) {
      const Node& n = g.node(id);
      if (from_x[std::size_t(id)]) continue;
      std::vector<Value> inputs;
      for (int in : n.inputs) {
        Value& v = mapped[std::size_t(in)];
        if (!v) v = s->add(NodeSpec::of(g.node(in)));  // a parameter or constant
        inputs.push_back(v);
      }
      mapped[std::size_t(id)] = s->apply(*n.op, inputs, n.attrs);
    }
    for (std::size_t j = 0; j < l.static_outputs.size(); ++j)
      s->output(fmt::format("static{}", j), mapped[std::size_t(l.static_outputs[j])]);
    l.static_plan = owned_plan(std::move(s));
  }
  // The loop's graph: the rest of the step, reading the frontier as inputs.
  l.recurrent = std::make_unique<Graph>();
  Graph& r = *l.recurrent;
  std::vector<Value> mapped(N);
  for (const Node& n : g.nodes()) {
    const std::size_t id = std::size_t(n.id);
    if (hoisted[id]) {
      if (frontier_of[id] >= 0)
        mapped[id] = r.input(fmt::format("hoisted{}", frontier_of[id]), n.shape);
      continue;
    }
    if (n.kind != NodeKind::Op && !read_in_loop[id] && n.kind != NodeKind::Input) continue;
    std::vector<Value> inputs;
    for (int in : n.inputs) inputs.push_back(mapped[std::size_t(in)]);
    mapped[id] = r.add(NodeSpec::of(n), inputs);
  }
  for (const auto& [name, id] : g.outputs()) r.output(name, mapped[std::size_t(id)]);
  l.recurrent_plan = std::make_shared<const Plan>(r, std::span<const std::string>(),
                                                  PlanOptions{.optimize = false});
  for (int id : l.recurrent_plan->inputs()) {
    const std::string& name = r.node(id).name;
    if (name == "x") {
      l.bindings.push_back(-1);
    } else if (name.starts_with("hoisted")) {
      l.bindings.push_back(std::stoi(name.substr(7)));
    } else {
      for (std::size_t j = 0; j < l.state.size(); ++j)
        if (l.state[j].name == name) l.bindings.push_back(-2 - int(j));
    }
  }
}

}  // namespace

RolledPlan::RolledPlan(const Config& config, const io::TensorMap& weights, int64_t batch,
                       std::size_t chunk_bytes)
    : config_(config),
      weights_(recipe_weights(config, weights)),
      batch_(batch),
      chunk_bytes_(chunk_bytes ? chunk_bytes : l2_cache_bytes()) {
  config_.masked = config_.training = false;
  const int64_t D = directions(config_);
  for (int64_t k = 0; k < config_.layers; ++k)
    for (int64_t d = 0; d < D; ++d) {
      auto l = std::make_unique<Layer>();
      l->layer = k;
      l->reverse = d == 1;
      l->input = layer_input_size(config_, k);
      l->state = cell_state(config_.cell, cell_sizes(config_, k));
      const auto built = step_graph_for(config_, weights_, k, d == 1, batch);
      l->step = passes::optimize_in(*built, config_.precision);
      layers_.push_back(std::move(l));
    }
}

RolledPlan::~RolledPlan() = default;

void RolledPlan::plan() {
  std::size_t step_bytes = 0;  // the most one layer hoists for a step, B rows
  for (auto& l : layers_) {
    if (!l->recurrent_plan) split(*l);
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < l->frontier.size(); ++i)
      if (l->per_row[i]) bytes += std::size_t(l->step->node(l->frontier[i]).shape.numel());
    step_bytes = std::max(step_bytes, bytes * sizeof(float));
  }
  max_hoisted_steps_ = std::max<int64_t>(
      1, int64_t(std::min<std::size_t>(chunk_bytes_ / std::max<std::size_t>(step_bytes, 1),
                                       kMaxHoistedSteps)));
}

int64_t RolledPlan::hoisted_steps(int64_t steps) const {
  // The fewest padded steps over the fewest chunks or more, while a chunk stays longer than half
  // the most (so padding is not traded for products of few rows): T = 100 in chunks of at most
  // 16 is 10 of 10, not 7 of 15 with 5 steps of padding.
  const int64_t most = max_hoisted_steps_, fewest = (steps + most - 1) / most;
  int64_t best = most, padded = -1;
  for (int64_t chunks = std::max<int64_t>(fewest, 1); chunks <= steps; ++chunks) {
    const int64_t size = (steps + chunks - 1) / chunks, pad = chunks * size - steps;
    if (chunks > fewest && 2 * size <= most) break;
    if (padded < 0 || pad < padded) best = size, padded = pad;
  }
  return best;
}

std::size_t RolledPlan::nodes() const {
  std::size_t n = 0;
  for (const auto& l : layers_) n += l->step->size();
  return n;
}

RolledPlan::Hoisted RolledPlan::hoisted(std::size_t at, int64_t rows) const {
  const Layer& l = *layers_[at];
  const std::lock_guard lock(l.mutex);
  for (auto it = l.hoisted_plans.begin(); it != l.hoisted_plans.end(); ++it)
    if (it->first == rows) {
      l.hoisted_plans.splice(l.hoisted_plans.begin(), l.hoisted_plans, it);
      return it->second;
    }
  // The hoisted nodes that depend on x again, on x of `rows` rows (every shape rule runs
  // again), reading the static part's values as inputs.
  const Graph& g = *l.step;
  auto h = std::make_unique<Graph>();
  std::vector<Value> mapped(g.size());
  std::map<int, int> source_of;  // input node of h → what feeds it
  for (std::size_t j = 0; j < l.static_outputs.size(); ++j) {
    const Node& n = g.node(l.static_outputs[j]);
    mapped[std::size_t(n.id)] = h->input(fmt::format("static{}", j), n.shape);
    source_of[mapped[std::size_t(n.id)].id()] = int(j);
  }
  auto value = [&](int id) -> Value {
    Value& v = mapped[std::size_t(id)];
    if (!v) {
      const Node& n = g.node(id);
      if (n.kind == NodeKind::Input) {
        v = h->input("x", {rows, l.input});
        source_of[v.id()] = -1;
      } else {
        v = h->add(NodeSpec::of(n));
      }
    }
    return v;
  };
  for (int id : l.row_nodes) {
    const Node& n = g.node(id);
    std::vector<Value> inputs;
    for (int in : n.inputs) inputs.push_back(value(in));
    mapped[std::size_t(id)] = h->apply(*n.op, inputs, n.attrs);
  }
  for (std::size_t i = 0; i < l.frontier.size(); ++i)
    if (l.per_row[i]) h->output(fmt::format("hoisted{}", i), mapped[std::size_t(l.frontier[i])]);
  Hoisted out;
  out.plan = owned_plan(std::move(h));
  for (int id : out.plan->inputs()) out.sources.push_back(source_of.at(id));
  l.hoisted_plans.emplace_front(rows, out);
  if (l.hoisted_plans.size() > 4) l.hoisted_plans.pop_back();
  return out;
}

// Per layer and direction: the executors, and the state carried from step to step.
struct RolledRun::Buffers {
  struct Layer {
    // Two executors of the step, taking turns: a step reads the state where the step before
    // left it, in the other executor's results (which stay until its next turn), so the state
    // is not copied between steps. `current` is those results, or null when `state` holds it
    // (at the start, and after a step of a sample past its length).
    std::array<std::unique_ptr<Executor>, 2> recurrent;
    int turn = 0;
    const Results* current = nullptr;
    // The static part (once per state of the weights: `statics` its results, null until then)
    // and the chunk plans by rows, with what feeds their inputs.
    std::unique_ptr<Executor> static_run;
    const Results* statics = nullptr;
    struct Chunk {
      int64_t rows;
      std::unique_ptr<Executor> run;
      std::vector<int> sources;
      std::vector<Tensor> inputs;
    };
    std::list<Chunk> hoisted;
    std::vector<Tensor> state;   // [B, size] each
    std::vector<Tensor> inputs;  // the loop's, by plan
    std::array<Tensor, 1> into;  // where the step writes h_t: its rows of y, or the arena
    Tensor padded;               // the last chunk's x, padded to the hoisted plan's rows
  };
  std::vector<Layer> layers;
  // The top layer's outputs [T, B, D·H]; between layers, chunks of steps (one direction) or
  // whole sequences (two), alternating.
  Tensor out[3];
  // The token input and the output layer, unrolled for one T and B (small graphs).
  struct Edge {
    int64_t steps = 0;
    std::unique_ptr<Graph> graph;
    std::unique_ptr<Executor> run;
  };
  Edge tokens, output;
  std::vector<Tensor> finals;  // "<s>_n"
};

RolledRun::RolledRun(std::shared_ptr<const RolledPlan> plan)
    : plan_(std::move(plan)), buffers_(std::make_unique<Buffers>()) {
  for (const auto& l : plan_->layers()) {
    Buffers::Layer b;
    for (auto& run : b.recurrent) run = std::make_unique<Executor>(l->recurrent_plan);
    if (l->static_plan) b.static_run = std::make_unique<Executor>(l->static_plan);
    for (const StateVariable& s : l->state) b.state.emplace_back(Shape{plan_->batch(), s.size});
    b.inputs.resize(l->bindings.size());
    buffers_->layers.push_back(std::move(b));
  }
  const Config& c = plan_->config();
  for (const StateVariable& s : model_state(c))
    buffers_->finals.emplace_back(Shape{c.layers * directions(c), plan_->batch(), s.size});
}

RolledRun::~RolledRun() = default;

std::size_t RolledRun::working_bytes() const {
  std::size_t bytes = 0;
  for (const Buffers::Layer& l : buffers_->layers) {
    for (const auto& run : l.recurrent) bytes += run->arena_bytes();
    for (const auto& chunk : l.hoisted) bytes += chunk.run->arena_bytes();
    if (l.static_run) bytes += l.static_run->arena_bytes();
    for (const Tensor& t : l.state) bytes += std::size_t(t.numel()) * sizeof(float);
  }
  for (int i = 1; i < 3; ++i) bytes += std::size_t(buffers_->out[i].numel()) * sizeof(float);
  for (const Buffers::Layer& l : buffers_->layers)
    bytes += std::size_t(l.padded.numel()) * sizeof(float);
  return bytes;
}

void RolledRun::check_numerics(bool on) {
  check_numerics_ = on;
  for (auto& l : buffers_->layers) {
    for (auto& run : l.recurrent) run->check_numerics(on);
    for (auto& chunk : l.hoisted) chunk.run->check_numerics(on);
    if (l.static_run) l.static_run->check_numerics(on);
  }
  // the kept weights-only results are made again, checked, by the next run: a NaN in a weight is
  // then named as the layer's weights, not as the first step that reads it
  if (on) statics_version_.reset();
}

namespace {
// The rows [from, from + count) of a [rows, width] tensor, as a view.
Tensor rows_of(const Tensor& t, int64_t from, int64_t count, int64_t width) {
  return Tensor::view({count, width}, t.data() + from * width);
}

// What --check-numerics says for a run of layer `l` over steps [first, first + steps): where,
// in the terms of the model (layer, direction, step, sample), and, when the layer's input x
// already holds a non-finite value, the first such value by step, sample and feature.
std::string numeric_context(const RolledPlan::Layer& l, int64_t first, int64_t steps, int64_t batch,
                            const Tensor* x) {
  std::string where = fmt::format("layer {}{}, ", l.layer, l.reverse ? " (reverse)" : "");
  where += steps == 1 ? fmt::format("step {}", first)
                      : fmt::format("steps {} to {} (their input products, all at once)", first,
                                    first + steps - 1);
  if (x && !x->empty()) {
    const int64_t width = x->shape()[1];
    const auto values = x->values();
    const auto bad =
        std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad != values.end()) {
      const int64_t at = bad - values.begin(), row = at / width;
      where += fmt::format("; its input holds {} at step {}, sample {}, feature {}", *bad,
                           first + row / batch, row % batch, at % width);
    }
  }
  return where;
}
}  // namespace

const Results& RolledRun::run(const Feeds& feeds, const Tensor& mask, uint64_t weights_version) {
  const RolledPlan& p = *plan_;
  const Config& c = p.config();
  const int64_t B = p.batch(), D = directions(c), S = cell_output_size(c);
  Buffers& buf = *buffers_;

  // The layers' input: x, or the token ids through the one-hot rows (and the embedding).
  Tensor in;
  int64_t T = 0;
  if (c.tokens == TokenInput::None) {
    in = feeds.at("x");
    T = in.shape()[0];
  } else {
    const Tensor& tokens = feeds.at("tokens");
    T = tokens.shape()[0];
    if (buf.tokens.steps != T) {
      Config at = c;
      at.steps = T, at.batch = B;
      buf.tokens.graph = std::make_unique<Graph>();
      buf.tokens.graph->output("x", token_input(*buf.tokens.graph, at));
      if (c.tokens == TokenInput::Embedding)
        buf.tokens.graph->share_parameter("embedding", p.weights().at("embedding"));
      buf.tokens.run = std::make_unique<Executor>(*buf.tokens.graph);
      buf.tokens.steps = T;
    }
    in = buf.tokens.run->run({{"tokens", tokens}})["x"];
  }
  const Tensor* m = mask.empty() ? nullptr : &mask;
  // Chunks of equal size: one hoisted plan serves them all (the last chunk, when shorter, is
  // padded).
  const int64_t width = D * S, chunk = p.hoisted_steps(T), chunks = (T + chunk - 1) / chunk;
  auto buffer = [](Tensor& t, const Shape& shape) -> const Tensor& {
    if (t.empty() || t.shape() != shape) t = Tensor(shape);
    return t;
  };

  // Layer and direction `at` over steps [c0, c0 + n): x_t from `in` (rows of steps c0 ..,
  // `in_width` wide), h_t written to `out` (rows of steps c0 .., `out_width` wide, at column
  // `column`); the state carried in and out in the layer's buffers. `out_kept`: out's rows stay
  // as written until the layer runs again (the top layer's y; not a buffer between layers, which
  // the layer above the next one writes over).
  auto advance = [&](std::size_t at, const Tensor& in, int64_t in_width, int64_t c0, int64_t n,
                     float* out, int64_t out_width, int64_t column, bool out_kept) {
    const RolledPlan::Layer& l = *p.layers()[at];
    Buffers::Layer& b = buf.layers[at];
    // weights merged, packed or quantized: again only when the weights may have changed
    if (b.static_run && !b.statics) {
      try {
        b.statics = &b.static_run->run_positional({});
      } catch (const NumericError& e) {
        throw NumericError(fmt::format("layer {}{}, its weights: {}", l.layer,
                                       l.reverse ? " (reverse)" : "", e.what()));
      }
    }
    const Results* hoisted = nullptr;  // the hoisted part, for this chunk's rows at once
    if (!l.row_nodes.empty()) {
      const int64_t rows = chunk * B;
      auto it = std::find_if(b.hoisted.begin(), b.hoisted.end(),
                             [&](const auto& e) { return e.rows == rows; });
      if (it == b.hoisted.end()) {
        RolledPlan::Hoisted h = p.hoisted(at, rows);
        b.hoisted.push_front({rows, std::make_unique<Executor>(h.plan), std::move(h.sources), {}});
        b.hoisted.front().run->check_numerics(check_numerics_);
        b.hoisted.front().inputs.resize(b.hoisted.front().sources.size());
        if (b.hoisted.size() > 4) b.hoisted.pop_back();
        it = b.hoisted.begin();
      }
      Tensor x_rows = rows_of(in, 0, n * B, in_width);
      if (n < chunk) {  // the last, shorter chunk: padded with zeros to the plan's rows
        const Tensor& padded = buffer(b.padded, {rows, in_width});
        std::copy_n(x_rows.data(), n * B * in_width, padded.data());
        std::fill(padded.data() + n * B * in_width, padded.data() + rows * in_width, 0.0f);
        x_rows = padded;
      }
      for (std::size_t i = 0; i < it->sources.size(); ++i)
        it->inputs[i] = it->sources[i] < 0 ? x_rows : (b.statics->begin() + it->sources[i])->second;
      try {
        hoisted = &it->run->run_positional(it->inputs);
      } catch (const NumericError& e) {
        const Tensor real = rows_of(x_rows, 0, n * B, in_width);  // not the padding
        throw NumericError(fmt::format("{}: {}", numeric_context(l, c0, n, B, &real), e.what()));
      }
    }
    for (int64_t s = 0; s < n; ++s) {
      const int64_t i_t = l.reverse ? n - 1 - s : s, t = c0 + i_t;  // in the chunk, in all
      for (std::size_t i = 0; i < l.bindings.size(); ++i) {
        const int what = l.bindings[i];
        if (what == -1) {
          b.inputs[i] = rows_of(in, i_t * B, B, in_width);
        } else if (what <= -2) {
          const auto j = std::size_t(-2 - what);
          b.inputs[i] = b.current ? (b.current->begin() + int64_t(j))->second : b.state[j];
        } else {
          const auto f = std::size_t(what);
          const Results& from = l.per_row[f] ? *hoisted : *b.statics;
          const Tensor& h = (from.begin() + l.frontier_at[f])->second;
          b.inputs[i] = l.per_row[f] ? rows_of(h, i_t * B, B, h.shape()[1]) : h;
        }
      }
      // h_t computed straight into its rows of `out`, not copied there, where those are one
      // block that stays (the top layer's y, without lengths): the next step reads it there. The
      // copy, a serial pass, held the large LSTM's int8 run on two threads to 1.71–1.77× one
      // thread (1.82–1.90× without it; 2% on one thread).
      Executor& step = *b.recurrent[std::size_t(b.turn)];
      const int64_t h_size = l.state[0].size;
      const bool direct =
          out_kept && !m && out_width == h_size && column == 0 && step.writes_into_arena(0);
      b.into[0] = direct ? Tensor::view({B, h_size}, out + i_t * B * out_width) : Tensor();
      const Results* step_results = nullptr;
      try {
        step_results = &step.run_positional(b.inputs, b.into);
        b.turn ^= 1;
      } catch (const NumericError& e) {
        const Tensor x_t = rows_of(in, i_t * B, B, in_width);
        throw NumericError(fmt::format("{}: {}", numeric_context(l, t, 1, B, &x_t), e.what()));
      }
      const Results& r = *step_results;
      // Past its length a sample keeps its state (s + m·(s' - s)) and hands up 0 (m·h'), as
      // models::build computes it.
      const float* mt = m ? m->data() + t * B : nullptr;
      for (std::size_t j = 0; j < l.state.size(); ++j) {
        const float* next = (r.begin() + int64_t(j))->second.data();
        const int64_t size = l.state[j].size;
        float* up = j == 0 && !direct ? out + i_t * B * out_width + column : nullptr;
        if (!mt) {  // no lengths: the state stays in r; h_t goes up
          for (int64_t row = 0; up && row < B; ++row)
            std::copy_n(next + row * size, size, up + row * out_width);
          continue;
        }
        const float* now =
            b.current ? (b.current->begin() + int64_t(j))->second.data() : b.state[j].data();
        float* state = b.state[j].data();
        for (int64_t row = 0; row < B; ++row)
          for (int64_t e = 0; e < size; ++e) {
            const float v = next[row * size + e];
            if (up) up[row * out_width + e] = v * mt[row];
            const float st = now[row * size + e];
            state[row * size + e] = st + mt[row] * (v - st);
          }
      }
      b.current = mt ? nullptr : &r;
    }
  };

  for (std::size_t at = 0; at < p.layers().size(); ++at) {  // the initial state: row at
    const RolledPlan::Layer& l = *p.layers()[at];
    buf.layers[at].current = nullptr;
    if (statics_version_ != weights_version) buf.layers[at].statics = nullptr;
    for (std::size_t j = 0; j < l.state.size(); ++j)
      std::copy_n(feeds.at(l.state[j].name + "0").data() + int64_t(at) * B * l.state[j].size,
                  B * l.state[j].size, buf.layers[at].state[j].data());
  }
  statics_version_ = weights_version;  // (a layer whose statics are null makes them when it runs)
  const Tensor& top = buffer(buf.out[0], {T, B, width});
  if (D == 1) {
    // Chunk by chunk through every layer: only a chunk of the layers between is ever held.
    for (int64_t c0 = 0; c0 < T; c0 += chunk) {
      const int64_t n = std::min(chunk, T - c0);
      Tensor x = rows_of(in, c0 * B, n * B, in.shape()[2]);
      for (int64_t k = 0; k < c.layers; ++k) {
        const bool last = k + 1 == c.layers;
        const Tensor& between = buffer(buf.out[1 + k % 2], {chunk * B, S});
        float* out = last ? top.data() + c0 * B * S : between.data();
        advance(std::size_t(k), x, x.shape()[1], c0, n, out, S, 0, last);
        if (!last) x = rows_of(between, 0, n * B, S);
      }
    }
  } else {
    // Layer by layer: a layer's right-to-left direction needs its whole input first.
    Tensor x = in.reshaped({T * B, in.shape()[2]});
    for (int64_t k = 0; k < c.layers; ++k) {
      const Tensor& out = buffer(buf.out[(c.layers - 1 - k) % 2 == 0 ? 0 : 1], {T, B, width});
      for (int64_t d = 0; d < D; ++d) {
        for (int64_t ci = 0; ci < chunks; ++ci) {
          const int64_t c0 = (d == 1 ? chunks - 1 - ci : ci) * chunk, n = std::min(chunk, T - c0);
          advance(std::size_t(k * D + d), rows_of(x, c0 * B, n * B, x.shape()[1]), x.shape()[1], c0,
                  n, out.data() + c0 * B * width, width, d * S, false);
        }
      }
      x = out.reshaped({T * B, width});
    }
  }
  for (std::size_t at = 0; at < p.layers().size(); ++at) {
    const RolledPlan::Layer& l = *p.layers()[at];
    const Buffers::Layer& b = buf.layers[at];
    for (std::size_t j = 0; j < l.state.size(); ++j)
      std::copy_n(b.current ? (b.current->begin() + int64_t(j))->second.data() : b.state[j].data(),
                  B * l.state[j].size, buf.finals[j].data() + int64_t(at) * B * l.state[j].size);
  }
  in = top;

  Tensor y = in;
  if (c.output_size > 0) {
    if (buf.output.steps != T) {
      Config at = c;
      at.steps = T, at.batch = B;
      buf.output.graph = std::make_unique<Graph>();
      Graph& g = *buf.output.graph;
      g.output("y", output_layer(g, at, g.input("hs", {T, B, width})));
      for (const char* name : {"W_out", "b_out"}) g.share_parameter(name, p.weights().at(name));
      // An int8 or bf16 model's product too: its graph is then optimized here, not by the plan.
      const bool reduced = c.precision != Precision::Float32;
      if (reduced) buf.output.graph = passes::optimize_in(g, c.precision);
      buf.output.run = std::make_unique<Executor>(*buf.output.graph, std::span<const std::string>(),
                                                  PlanOptions{.optimize = !reduced});
      buf.output.steps = T;
    }
    y = buf.output.run->run({{"hs", in}})["y"];
  }
  results_.set("y", y);
  const std::vector<StateVariable> state = model_state(c);
  for (std::size_t j = 0; j < state.size(); ++j) results_.set(state[j].name + "_n", buf.finals[j]);
  return results_;
}

}  // namespace rnngraph::models
