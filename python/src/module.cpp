// rnngraph's Python module (_rnngraph, wrapped by python/rnngraph/__init__.py): models in
// PyTorch's shapes and names, their gradients, and their diagrams, on numpy arrays.
//
// Arrays in: a float32 C-contiguous array is read where it lies (a view; the array is held for
// the call), anything else is converted first. Arrays out: new arrays that own their values (a
// model's results live in its buffers only until its next run). The GIL is released while a
// model runs, so Python threads run models side by side; calls on one Model take its lock, and
// Model.copy() gives a handle on the same weights with buffers of its own, for a thread each.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include <rnngraph/framework/autodiff.h>
#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/memory.h>
#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/framework/rewrite.h>
#include <rnngraph/models/cell.h>
#include <rnngraph/models/dataset.h>
#include <rnngraph/models/evaluation.h>
#include <rnngraph/models/losses.h>
#include <rnngraph/models/model.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/torch_state.h>
#include <rnngraph/models/training.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/tools/viz/diagram.h>

namespace py = pybind11;
using namespace rnngraph;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A float32 C-contiguous view of `object` (converted when it is not one already), kept alive in
// `held` while the tensor is used.
Tensor tensor_of(const py::handle& object, FloatArray& held, std::string_view name) {
  held = FloatArray::ensure(object);
  if (!held)
    throw ShapeError(fmt::format("{} must be an array of numbers (numpy or convertible)", name));
  std::vector<int64_t> dims(held.shape(), held.shape() + held.ndim());
  return Tensor::view(Shape(dims), const_cast<float*>(held.data()));
}

py::array_t<float> array_of(const Tensor& t) {
  std::vector<py::ssize_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  py::array_t<float> out(dims);
  std::copy(t.data(), t.data() + t.numel(), out.mutable_data());
  return out;
}

py::dict dict_of(const io::TensorMap& tensors) {
  py::dict out;
  for (const auto& [name, t] : tensors) out[py::str(name)] = array_of(t);
  return out;
}

std::vector<int64_t> lengths_of(const std::optional<py::object>& lengths) {
  std::vector<int64_t> out;
  if (lengths)
    for (const py::handle& v : py::iter(*lengths)) out.push_back(v.cast<int64_t>());
  return out;
}

// The arrays of one call, held for its length, and the feeds that view them.
struct Inputs {
  std::vector<FloatArray> held;
  Feeds feeds;
  void add(const std::string& name, const std::optional<py::object>& value) {
    if (!value || value->is_none()) return;
    held.emplace_back();
    feeds.emplace(name, tensor_of(*value, held.back(), name));
  }
};

// `weights` (by our names, every one of the model's, of its shapes) into the model's own.
void write_weights(models::Model& model, const io::TensorMap& weights) {
  model.update([&](const io::TensorMap& mine) {
    for (const auto& [name, t] : mine) std::copy_n(weights.at(name).data(), t.numel(), t.data());
  });
}

class PyModel {
 public:
  explicit PyModel(models::Model model, bool batch_first)
      : model_(std::move(model)), batch_first_(batch_first) {
    refresh_states();
  }
  PyModel(const PyModel& other)
      : model_(other.model_),
        batch_first_(other.batch_first_),
        final_states_(other.final_states_) {}

  const models::Config& config() const { return model_.config(); }
  bool batch_first() const { return batch_first_; }

  // (y, h_n), (y, (h_n, c_n)) for the LSTM, or (y, (s_1, ..., s_k)) for a cell with k states.
  py::tuple call(const py::object& x, const std::optional<py::object>& h0,
                 const std::optional<py::object>& c0, const std::optional<py::object>& lengths) {
    Inputs in = inputs(x, h0, c0);
    const std::vector<int64_t> lens = lengths_of(lengths);
    py::object y;
    std::vector<py::object> states;
    {
      py::gil_scoped_release unlocked;
      std::lock_guard lock(mutex_);
      const Results& r = model_.run(in.feeds, lens);
      // The arrays made while the model is still locked, so its results are copied once. (A
      // thread waiting for the lock has let the GIL go: taking it back here cannot deadlock.)
      py::gil_scoped_acquire gil;
      y = array_of(batch_first_ ? swap_first_axes(r["y"]) : r["y"]);
      for (const std::string& name : final_states_) states.push_back(array_of(r[name]));
    }
    if (states.size() == 1) return py::make_tuple(y, states[0]);
    return py::make_tuple(y, py::tuple(py::cast(states)));
  }

  // ∂loss/∂(parameters[, x, h0, c0]) of loss "sum" (Σ y) or "mse" (mean (y - target)²).
  py::dict grad(const py::object& x, const std::string& loss,
                const std::optional<py::object>& target, const std::string& wrt,
                const std::string& names, const std::optional<py::object>& h0,
                const std::optional<py::object>& c0, const std::optional<py::object>& lengths) {
    if (loss != "sum" && loss != "mse")
      throw GraphError(fmt::format("loss must be 'sum' or 'mse', got {}", quote(loss)));
    if ((loss == "mse") != (target && !target->is_none()))
      throw GraphError("a target goes with loss='mse', and loss='mse' needs a target");
    if (wrt != "params" && wrt != "all")
      throw GraphError(fmt::format("wrt must be 'params' or 'all', got {}", quote(wrt)));
    if (names != "torch" && names != "native")
      throw GraphError(fmt::format("names must be 'torch' or 'native', got {}", quote(names)));
    if (config().precision != models::Precision::Float32)
      throw GraphError(
          fmt::format("a model quantized to {} has no gradients (it runs forward only)",
                      models::to_string(config().precision)));
    Inputs in = inputs(x, h0, c0);
    const Tensor& xt = in.feeds.count("x") ? in.feeds.at("x") : in.feeds.at("tokens");
    if (xt.shape().rank() < 2)
      throw ShapeError(fmt::format("x is {}: needs [T, B, ...]", xt.shape().str()));
    const int64_t steps = xt.shape()[0], batch = xt.shape()[1];
    const std::vector<int64_t> lens = lengths_of(lengths);
    if (target && !target->is_none()) {
      in.add("target", target);
      if (batch_first_) in.feeds.at("target") = swap_first_axes(in.feeds.at("target"));
    }
    io::TensorMap grads;
    {
      py::gil_scoped_release unlocked;
      std::lock_guard lock(mutex_);
      Backward& b = backward({steps, batch, !lens.empty(), loss, wrt});
      Feeds feeds = in.feeds;
      for (const auto& [name, shape] : b.zero_states)
        if (!feeds.count(name)) feeds.emplace(name, Tensor(shape));
      if (!lens.empty()) feeds.emplace("mask", models::length_mask(lens, steps));
      const Results& r = (*b.run)(feeds);
      for (const std::string& name : b.targets) grads.emplace(name, r["grad/" + name].clone());
    }
    if (batch_first_ && grads.count("x")) grads.at("x") = swap_first_axes(grads.at("x"));
    return dict_of(names == "torch" ? models::torch_named_gradients(config(), grads) : grads);
  }

  py::dict state_dict(const std::string& names) const {
    if (names == "native") return dict_of(model_.weights());
    if (names != "torch")
      throw GraphError(fmt::format("names must be 'torch' or 'native', got {}", quote(names)));
    return dict_of(models::torch_state_dict(model_.weights(), config()));
  }

  // PyTorch's names (weight_ih_l0, ...; out.weight, embedding.weight) or ours (W_f_l0, ...):
  // every weight, each of its shape.
  void load_state_dict(const py::dict& d) {
    std::vector<FloatArray> held;
    io::TensorMap state;
    for (const auto& [key, value] : d) {
      held.emplace_back();
      const std::string name = py::str(key);
      state.emplace(name, tensor_of(value, held.back(), name).clone());
    }
    const io::TensorMap weights =
        models::is_torch_state(state) ? models::from_torch_state(config(), state) : state;
    for (const auto& [name, t] : model_.weights()) {
      const auto given = weights.find(name);
      if (given == weights.end())
        throw FormatError(fmt::format("the state dict has no {}", quote(name)));
      if (given->second.shape() != t.shape())
        throw ShapeError(fmt::format("{} is {} in the state dict, the model's is {}", quote(name),
                                     given->second.shape().str(), t.shape().str()));
    }
    for (const auto& [name, t] : weights)
      if (!model_.weights().count(name))
        throw FormatError(fmt::format("the model has no weight {}", quote(name)));
    std::lock_guard lock(mutex_);
    write_weights(model_, weights);
  }

  // Trains this model on (data, targets) as `rnngraph train --data --model` does, and takes the
  // trained weights: the model gains the output layer the targets need if it had none. Returns
  // the history, a dict per epoch.
  py::list train(const py::object& data, const py::object& targets,
                 const std::optional<py::object>& lengths,
                 const std::optional<py::tuple>& validation, int64_t epochs, int64_t batch_size,
                 double lr, const std::string& optimizer, double momentum, double weight_decay,
                 double clip, float dropout, float recurrent_dropout, uint64_t seed,
                 const std::string& schedule, double gamma, int64_t every, int64_t warmup,
                 const std::optional<py::function>& on_epoch) {
    if (config().bidirectional) throw GraphError("a bidirectional model cannot be trained yet");
    if (config().precision != models::Precision::Float32)
      throw GraphError(
          fmt::format("a model quantized to {} runs forward only: train the float32 model",
                      models::to_string(config().precision)));
    models::TrainConfig c;
    c.task = models::Task::Data;
    c.cell = config().cell;
    c.hidden_size = config().hidden_size;
    c.layers = config().layers;
    c.proj_size = config().proj_size;
    c.epochs = epochs;
    c.batch = batch_size;
    c.lr = lr;
    c.optimizer = optimizer;
    c.momentum = momentum;
    c.weight_decay = weight_decay;
    c.clip = clip;
    c.dropout = dropout;
    c.recurrent_dropout = recurrent_dropout;
    c.seed = seed;
    c.schedule = {models::schedule_from_string(schedule), every, gamma, warmup};
    const models::DatasetLimits limits{};
    c.data = dataset(data, targets, lengths, limits, "data");
    if (validation) {
      if (validation->size() < 2 || validation->size() > 3)
        throw GraphError("validation is (x, targets) or (x, targets, lengths)");
      c.validation = dataset(
          (*validation)[0], (*validation)[1],
          validation->size() == 3 ? std::optional<py::object>((*validation)[2]) : std::nullopt,
          limits, "validation");
    }
    py::list history;
    {
      py::gil_scoped_release unlocked;
      std::lock_guard lock(mutex_);
      models::Trainer trainer(c);
      trainer.start_from(model_.weights(), "the model");
      double sum = 0;
      int64_t count = 0;
      std::vector<std::map<std::string, double>> records;
      double epoch_lr = 0;  // the rate of the epoch's first iteration
      while (!trainer.done()) {
        if (count == 0) epoch_lr = trainer.lr();
        sum += trainer.iterate();
        ++count;
        if (trainer.epoch_finished()) {
          std::map<std::string, double> r{
              {"epoch", double(trainer.epoch())}, {"loss", sum / double(count)}, {"lr", epoch_lr}};
          if (const auto& v = trainer.last_validation()) {
            r["val_loss"] = v->loss;
            if (v->accuracy) r["val_accuracy"] = *v->accuracy;
          }
          records.push_back(std::move(r));
          sum = 0, count = 0;
          if (on_epoch) {  // the epoch's record; returning False stops the run here
            py::gil_scoped_acquire gil;
            const py::object go_on = (*on_epoch)(record(records.back()));
            if (!go_on.is_none() && !go_on.cast<bool>()) break;
          }
        }
      }
      models::Config trained = trainer.model();
      trained.training = false;
      trained.dropout = trained.recurrent_dropout = 0;
      models::Model next(trained);
      write_weights(next, models::parameters(trainer.graph()));
      model_ = std::move(next);
      backward_.clear();
      py::gil_scoped_acquire gil;
      for (const auto& r : records) history.append(record(r));
    }
    refresh_states();
    return history;
  }

  void save(const std::filesystem::path& path) const { model_.save(path); }

  // The DOT text of a diagram of the model unrolled for `steps` (and batch 1).
  std::string dot(const std::string& view, int64_t steps, bool grad, const std::string& title,
                  int steps_shown) {
    viz::Options options;
    options.view = viz::view_from_string(view);
    options.grad = grad;
    options.title = title;
    options.steps_shown = steps_shown;
    std::lock_guard lock(mutex_);
    return viz::to_dot(model_.graph(steps, 1), options);
  }

 private:
  // The backward graph of one loss for one shape, planned: built on the first grad() call of its
  // kind and kept (it reads the model's weights, so load_state_dict's updates reach it; train()
  // replaces the model and drops them all).
  struct BackwardKey {
    int64_t steps, batch;
    bool masked;
    std::string loss, wrt;
    auto operator<=>(const BackwardKey&) const = default;
  };
  struct Backward {
    std::unique_ptr<Graph> graph;
    std::unique_ptr<Executor> run;
    std::vector<std::string> targets;                        // what the gradients are of
    std::vector<std::pair<std::string, Shape>> zero_states;  // h0, c0 when not given
  };
  Backward& backward(const BackwardKey& key) {
    std::unique_ptr<Backward>& b = backward_[key];
    if (b) return *b;
    auto g = copy(model_.graph(key.steps, key.batch, key.masked));
    const Value y(*g, g->output_id("y"));
    g->output("loss", key.loss == "sum" ? models::sum_loss(y)
                                        : models::mse_loss(y, g->input("target", y.shape())));
    auto made = std::make_unique<Backward>();
    made->targets = parameter_names(*g);
    if (key.wrt == "all" && g->contains("x") && g->find("x").kind == NodeKind::Input)
      made->targets.emplace_back("x");
    // The initial states by the cell's own state variables (h0, c0, or a user cell's): with
    // wrt="all" differentiated too, and zeros when not given.
    for (const models::StateVariable& s : models::model_state(config())) {
      const std::string initial = s.name + "0";
      if (!g->contains(initial)) continue;
      made->zero_states.emplace_back(initial, g->find(initial).shape);
      if (key.wrt == "all") made->targets.push_back(initial);
    }
    made->graph = passes::training_graph(*g, "loss", made->targets);
    std::vector<std::string> wanted;
    for (const std::string& name : made->targets) wanted.push_back("grad/" + name);
    made->run = std::make_unique<Executor>(*made->graph, wanted, PlanOptions{.optimize = false});
    b = std::move(made);
    return *b;
  }

  // An epoch's record as Python sees it: the epoch a number, the rest floats.
  static py::dict record(const std::map<std::string, double>& r) {
    py::dict d;
    for (const auto& [key, value] : r)
      d[py::str(key)] = key == "epoch" ? py::cast(int64_t(value)) : py::cast(value);
    return d;
  }

  // Samples as numpy gives them: x [N, T, I] features or [N, T] token ids, targets [N] or
  // [N, T] class ids (integers) or [N, O] or [N, T, O] values (floats), lengths [N].
  static std::shared_ptr<const models::Dataset> dataset(const py::object& x,
                                                        const py::object& targets,
                                                        const std::optional<py::object>& lengths,
                                                        const models::DatasetLimits& limits,
                                                        const std::string& what) {
    auto array = [](const py::object& o, const std::string& name) {
      const py::array a = py::array::ensure(o);
      if (!a) throw ShapeError(fmt::format("{} must be an array", name));
      const char kind = a.dtype().kind();
      FloatArray held;
      io::NpyArray out{tensor_of(a, held, name).clone(), kind == 'i' || kind == 'u' || kind == 'b'};
      return out;
    };
    return std::make_shared<models::ArrayDataset>(
        array(x, what + " x"), array(targets, what + " targets"),
        lengths && !lengths->is_none() ? std::optional(array(*lengths, what + " lengths"))
                                       : std::nullopt,
        limits, models::DatasetNames{what + " x", what + " targets", what + " lengths"});
  }

  void refresh_states() {
    final_states_.clear();
    for (const models::StateVariable& s : models::model_state(config()))
      final_states_.push_back(s.name + "_n");
  }

  Inputs inputs(const py::object& x, const std::optional<py::object>& h0,
                const std::optional<py::object>& c0) {
    Inputs in;
    const bool tokens = config().tokens != models::TokenInput::None;
    in.add(tokens ? "tokens" : "x", x);
    if (batch_first_) {
      Tensor& t = in.feeds.at(tokens ? "tokens" : "x");
      t = swap_first_axes(t);
    }
    in.add("h0", h0);
    in.add("c0", c0);
    return in;
  }

  models::Model model_;
  bool batch_first_;
  std::vector<std::string> final_states_;  // h_n (c_n, ...): the model's final states, in order
  std::map<BackwardKey, std::unique_ptr<Backward>> backward_;
  std::mutex mutex_;
};

// ---- the graph API: Graph, Value, the ops, grad, Executor -------------------------------------

// A graph shared by the Python objects that point into it (its values, its executors).
struct PyGraph {
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();
};

struct PyValue {
  std::shared_ptr<Graph> graph;
  int id;
  Value value() const { return Value(*graph, id); }
};

PyValue wrap(const std::shared_ptr<Graph>& g, const Value& v) { return {g, v.id()}; }

std::vector<int64_t> dims_of(const Shape& s) { return {s.dims().begin(), s.dims().end()}; }

Shape shape_of(const std::vector<int64_t>& dims) { return Shape(std::span<const int64_t>(dims)); }

// The one graph of several values (GraphError when they come from different graphs).
std::shared_ptr<Graph> graph_of(const std::vector<PyValue>& values) {
  if (values.empty()) throw GraphError("needs at least one value");
  for (const PyValue& v : values)
    if (v.graph != values.front().graph)
      throw GraphError("values from different graphs cannot be combined");
  return values.front().graph;
}

std::vector<Value> values_of(const std::vector<PyValue>& values) {
  std::vector<Value> out;
  for (const PyValue& v : values) out.push_back(v.value());
  return out;
}

// A Value or a number, as a Value of `g` (a number becomes a [1] constant).
Value operand(const std::shared_ptr<Graph>& g, const py::object& o) {
  if (py::isinstance<PyValue>(o)) {
    const PyValue& v = o.cast<const PyValue&>();
    if (v.graph != g) throw GraphError("values from different graphs cannot be combined");
    return v.value();
  }
  return g->scalar(o.cast<float>());
}

class PyExecutor {
 public:
  PyExecutor(std::shared_ptr<Graph> graph, std::vector<std::string> outputs)
      : graph_(std::move(graph)), run_(*graph_, outputs), outputs_(std::move(outputs)) {
    if (outputs_.empty())
      for (const auto& [name, id] : graph_->outputs()) outputs_.push_back(name);
  }

  py::dict call(const py::dict& feeds) {
    Inputs in;
    for (const auto& [key, value] : feeds)
      in.add(py::str(key), py::reinterpret_borrow<py::object>(value));
    std::map<std::string, Tensor> out;
    {
      py::gil_scoped_release unlocked;
      std::lock_guard lock(mutex_);
      const Results& r = run_(in.feeds);
      for (const std::string& name : outputs_) out.emplace(name, r[name].clone());
    }
    py::dict result;
    for (const auto& [name, t] : out) result[py::str(name)] = array_of(t);
    return result;
  }

 private:
  std::shared_ptr<Graph> graph_;
  Executor run_;
  std::vector<std::string> outputs_;
  std::mutex mutex_;
};

// `with g.step(t):` and `with g.layer(k):`, the scopes diagrams group nodes by.
struct PyScope {
  std::shared_ptr<Graph> graph;
  int64_t index;
  bool layer;
  std::optional<Graph::ScopeGuard> guard;
};

void bind_graph_api(py::module_& m) {
  py::class_<PyScope>(m, "_Scope")
      .def("__enter__",
           [](PyScope& s) {
             s.guard.emplace(s.layer ? s.graph->layer(s.index) : s.graph->step(s.index));
           })
      .def("__exit__", [](PyScope& s, const py::args&) { s.guard.reset(); });

  py::class_<PyValue>(m, "Value", "one node's output in a Graph")
      .def_property_readonly("shape", [](const PyValue& v) { return dims_of(v.value().shape()); })
      .def_property_readonly("name", [](const PyValue& v) { return v.value().node().name; })
      .def("__getitem__", [](const PyValue& v, int64_t t) { return wrap(v.graph, v.value()[t]); })
      .def("__add__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, a.value() + operand(a.graph, b));
           })
      .def("__radd__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, operand(a.graph, b) + a.value());
           })
      .def("__sub__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, a.value() - operand(a.graph, b));
           })
      .def("__rsub__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, operand(a.graph, b) - a.value());
           })
      .def("__mul__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, a.value() * operand(a.graph, b));
           })
      .def("__rmul__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, operand(a.graph, b) * a.value());
           })
      .def("__truediv__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, a.value() / operand(a.graph, b));
           })
      .def("__rtruediv__",
           [](const PyValue& a, const py::object& b) {
             return wrap(a.graph, operand(a.graph, b) / a.value());
           })
      .def("__neg__", [](const PyValue& a) { return wrap(a.graph, 0.0f - a.value()); })
      .def("__matmul__",
           [](const PyValue& a, const PyValue& b) {
             return wrap(graph_of({a, b}), matmul(a.value(), b.value()));
           })
      .def("__repr__", [](const PyValue& v) {
        return fmt::format("<rnngraph.Value {} {}>", v.value().node().name,
                           v.value().shape().str());
      });

  py::class_<PyGraph>(m, "Graph", "a computation graph built from inputs, parameters and ops")
      .def(py::init<>())
      .def(
          "input",
          [](PyGraph& g, std::string name, const std::vector<int64_t>& shape) {
            return wrap(g.graph, g.graph->input(std::move(name), shape_of(shape)));
          },
          py::arg("name"), py::arg("shape"))
      .def(
          "parameter",
          [](PyGraph& g, std::string name, const py::object& value) {
            FloatArray held;
            const Tensor t = tensor_of(value, held, name);
            const Value p = g.graph->parameter(name, t.shape());
            std::copy_n(t.data(), t.numel(), g.graph->param(name).data());
            return wrap(g.graph, p);
          },
          py::arg("name"), py::arg("value"), "a parameter holding a copy of `value`")
      .def(
          "constant",
          [](PyGraph& g, std::string name, const py::object& value) {
            FloatArray held;
            return wrap(g.graph, g.graph->constant(std::move(name),
                                                   tensor_of(value, held, "constant").clone()));
          },
          py::arg("name"), py::arg("value"))
      .def(
          "output",
          [](PyGraph& g, std::string name, const PyValue& v) {
            if (v.graph != g.graph) throw GraphError("the value belongs to another graph");
            g.graph->output(std::move(name), v.value());
          },
          py::arg("name"), py::arg("value"))
      .def(
          "value",
          [](const PyGraph& g, const std::string& name) {
            return wrap(g.graph, Value(*g.graph, g.graph->find(name).id));
          },
          py::arg("name"), "the node called `name`")
      .def(
          "param",
          [](const PyGraph& g, const std::string& name) { return array_of(g.graph->param(name)); },
          py::arg("name"), "a parameter's values (a copy)")
      .def(
          "step",
          [](const PyGraph& g, int64_t t) {
            return PyScope{g.graph, t, false, {}};
          },
          py::arg("t"), "with g.step(t): the nodes made inside belong to time step t")
      .def(
          "layer",
          [](const PyGraph& g, int64_t k) {
            return PyScope{g.graph, k, true, {}};
          },
          py::arg("k"), "with g.layer(k): the nodes made inside belong to layer k")
      .def("__len__", [](const PyGraph& g) { return g.graph->size(); })
      .def("_dot", [](const PyGraph& g, const std::string& view, bool grad,
                      const std::string& title, int steps_shown) {
        viz::Options options;
        options.view = viz::view_from_string(view);
        options.grad = grad;
        options.title = title;
        options.steps_shown = steps_shown;
        return viz::to_dot(*g.graph, options);
      });

  m.def(
      "grad",
      [](const PyValue& loss, const std::vector<PyValue>& wrt) {
        std::vector<Value> targets = values_of(wrt);
        graph_of(wrt);
        if (!wrt.empty() && wrt.front().graph != loss.graph)
          throw GraphError("the loss and the values differentiated by belong to different graphs");
        std::vector<PyValue> out;
        for (const Value& g : grad(loss.value(), targets)) out.push_back(wrap(loss.graph, g));
        return out;
      },
      py::arg("loss"), py::arg("wrt"),
      "appends the backward graph of `loss` ([1]) and returns ∂loss/∂v for each v in `wrt`");

  m.def(
      "concat",
      [](const std::vector<PyValue>& parts, int axis) {
        return wrap(graph_of(parts), concat(std::span<const Value>(values_of(parts)), axis));
      },
      py::arg("parts"), py::arg("axis"));
  m.def(
      "stack",
      [](const std::vector<PyValue>& parts) {
        return wrap(graph_of(parts), stack(std::span<const Value>(values_of(parts))));
      },
      py::arg("parts"));
  m.def(
      "matmul",
      [](const PyValue& a, const PyValue& b, bool ta, bool tb) {
        return wrap(graph_of({a, b}), matmul(a.value(), b.value(), ta, tb));
      },
      py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false);
  using Unary = Value (*)(const Value&);
  for (const auto& [name, f] : {std::pair<const char*, Unary>{"tanh", &rnngraph::tanh},
                                {"sigmoid", &rnngraph::sigmoid},
                                {"exp", &rnngraph::exp},
                                {"log", &rnngraph::log}})
    m.def(
        name, [f = f](const PyValue& x) { return wrap(x.graph, f(x.value())); }, py::arg("x"));
  m.def(
      "sum",
      [](const PyValue& x, std::optional<int> axis) {
        return wrap(x.graph, axis ? sum(x.value(), *axis) : sum(x.value()));
      },
      py::arg("x"), py::arg("axis") = py::none());
  m.def(
      "mean",
      [](const PyValue& x, std::optional<int> axis) {
        return wrap(x.graph, axis ? mean(x.value(), *axis) : mean(x.value()));
      },
      py::arg("x"), py::arg("axis") = py::none());
  m.def(
      "softmax", [](const PyValue& x, int axis) { return wrap(x.graph, softmax(x.value(), axis)); },
      py::arg("x"), py::arg("axis"));
  m.def(
      "slice",
      [](const PyValue& x, int axis, int64_t begin, int64_t end) {
        return wrap(x.graph, slice(x.value(), axis, begin, end));
      },
      py::arg("x"), py::arg("axis"), py::arg("begin"), py::arg("end"));
  m.def(
      "reshape",
      [](const PyValue& x, const std::vector<int64_t>& shape) {
        return wrap(x.graph, reshape(x.value(), shape_of(shape)));
      },
      py::arg("x"), py::arg("shape"));

  py::class_<PyExecutor>(m, "Executor", "runs a graph: feeds by input name → outputs by name")
      .def(py::init([](const PyGraph& g, std::vector<std::string> outputs) {
             return std::make_unique<PyExecutor>(g.graph, std::move(outputs));
           }),
           py::arg("graph"), py::arg("outputs") = std::vector<std::string>{})
      .def("__call__", &PyExecutor::call, py::arg("feeds"));
}

// ---- cells written in Python ------------------------------------------------------------------

// A Python callable the library may hold from threads without the GIL: copies share one
// reference, and the last one lets it go under the GIL.
class Callback {
 public:
  explicit Callback(py::function f)
      : f_(new py::function(std::move(f)), [](py::function* p) {
          py::gil_scoped_acquire gil;
          delete p;
        }) {}
  // Called with the GIL held (the caller takes it first: what the call returns is a Python
  // object too).
  template <class... Args>
  py::object operator()(Args&&... args) const {
    return (*f_)(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<py::function> f_;
};

// The graph a step is being built in, for the Values handed to Python: not owned (models::build
// owns it), valid while the step function runs.
std::shared_ptr<Graph> borrowed(Graph& g) {
  return std::shared_ptr<Graph>(&g, [](Graph*) {});
}

// rnngraph.register_cell(name, state, parameters, step): state(sizes) → [(name, size)],
// parameters(sizes) → {role: shape}, step(previous, x, weights) → the next state (a Value or a
// list), written with the graph API. Registered like a C++ cell: Model(cell=name) builds it.
void register_python_cell(const std::string& name, py::function state, py::function parameters,
                          py::function step, const std::string& label) {
  models::CellDefinition d;
  d.name = name;
  d.label = label;
  d.state = [f = Callback(std::move(state))](const models::CellSizes& s) {
    py::gil_scoped_acquire gil;
    const py::object out = f(s);
    std::vector<models::StateVariable> vars;
    for (const py::handle& item : out) {
      const auto pair = item.cast<std::pair<std::string, int64_t>>();
      vars.push_back({pair.first, pair.second});
    }
    return vars;
  };
  d.parameters = [f = Callback(std::move(parameters))](const models::CellSizes& s) {
    py::gil_scoped_acquire gil;
    const py::object out = f(s);
    std::vector<models::CellParameter> params;
    for (const auto& [role, shape] : out.cast<py::dict>())
      params.push_back({py::str(role), shape_of(shape.cast<std::vector<int64_t>>()), std::nullopt});
    return params;
  };
  d.step = [f = Callback(std::move(step))](const models::CellState& previous, const Value& x,
                                           const models::CellWeights& w) {
    py::gil_scoped_acquire gil;
    const std::shared_ptr<Graph> g = borrowed(x.graph());
    std::vector<PyValue> prev;
    for (const Value& v : previous) prev.push_back(wrap(g, v));
    py::dict weights;
    for (const std::string& role : w.roles()) weights[py::str(role)] = wrap(g, w[role]);
    const py::object out = f(prev, wrap(g, x), weights);
    models::CellState next;
    if (py::isinstance<PyValue>(out)) {
      next.push_back(out.cast<const PyValue&>().value());
    } else {
      for (const py::handle& v : out) next.push_back(v.cast<const PyValue&>().value());
    }
    return next;
  };
  models::register_cell(std::move(d));
}

models::Config config_of(const std::string& cell, int64_t input_size, int64_t hidden_size,
                         int64_t num_layers, bool bidirectional, int64_t proj_size,
                         int64_t output_size, uint64_t seed) {
  models::Config c;
  c.cell = models::cell_from_string(cell);
  c.input_size = input_size;
  c.hidden_size = hidden_size;
  c.layers = num_layers;
  c.bidirectional = bidirectional;
  c.proj_size = proj_size;
  c.output_size = output_size;
  c.seed = seed;
  for (const auto& [what, value] : {std::pair{"input_size", input_size},
                                    {"hidden_size", hidden_size},
                                    {"num_layers", num_layers}})
    if (value < 1) throw ShapeError(fmt::format("{} must be at least 1, got {}", what, value));
  return c;
}

}  // namespace

PYBIND11_MODULE(_rnngraph, m) {
  m.doc() = "rnngraph's C++ core; use the rnngraph package";
  // The library's error types, under the base rnngraph.Error.
  static py::exception<Error> error(m, "Error");
  static py::exception<ShapeError> shape_error(m, "ShapeError", error.ptr());
  static py::exception<GraphError> graph_error(m, "GraphError", error.ptr());
  static py::exception<NumericError> numeric_error(m, "NumericError", error.ptr());
  static py::exception<FormatError> format_error(m, "FormatError", error.ptr());
  static py::exception<MemoryError> memory_error(m, "MemoryLimitError", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShapeError& e) {
      shape_error(e.what());
    } catch (const GraphError& e) {
      graph_error(e.what());
    } catch (const NumericError& e) {
      numeric_error(e.what());
    } catch (const FormatError& e) {
      format_error(e.what());
    } catch (const MemoryError& e) {
      memory_error(e.what());
    } catch (const Error& e) {
      error(e.what());
    }
  });

  bind_graph_api(m);
  py::class_<models::CellSizes>(m, "CellSizes",
                                "a layer's sizes, as a cell's state and parameters see them")
      .def_readonly("input", &models::CellSizes::input)
      .def_readonly("hidden", &models::CellSizes::hidden)
      .def_readonly("projection", &models::CellSizes::projection);
  m.def("_register_cell", &register_python_cell, py::arg("name"), py::arg("state"),
        py::arg("parameters"), py::arg("step"), py::arg("label"));
  m.def("registered_cells", &models::registered_cells);

  py::class_<PyModel>(m, "Model")
      .def(py::init([](const std::string& cell, int64_t input_size, int64_t hidden_size,
                       int64_t num_layers, bool bidirectional, int64_t proj_size,
                       int64_t output_size, bool batch_first, uint64_t seed) {
             return PyModel(models::Model(config_of(cell, input_size, hidden_size, num_layers,
                                                    bidirectional, proj_size, output_size, seed)),
                            batch_first);
           }),
           py::arg("cell"), py::arg("input_size"), py::arg("hidden_size"),
           py::arg("num_layers") = 1, py::arg("bidirectional") = false, py::arg("proj_size") = 0,
           py::arg("output_size") = 0, py::arg("batch_first") = false, py::arg("seed") = 0)
      .def_static(
          "load",
          [](const std::filesystem::path& path, bool batch_first) {
            return PyModel(models::Model::load(path), batch_first);
          },
          py::arg("path"), py::arg("batch_first") = false)
      .def("save", &PyModel::save, py::arg("path"))
      .def("_train", &PyModel::train, py::arg("data"), py::arg("targets"), py::arg("lengths"),
           py::arg("validation"), py::arg("epochs"), py::arg("batch_size"), py::arg("lr"),
           py::arg("optimizer"), py::arg("momentum"), py::arg("weight_decay"), py::arg("clip"),
           py::arg("dropout"), py::arg("recurrent_dropout"), py::arg("seed"), py::arg("schedule"),
           py::arg("gamma"), py::arg("every"), py::arg("warmup"), py::arg("on_epoch"))
      .def("copy", [](const PyModel& self) { return PyModel(self); })
      .def("__call__", &PyModel::call, py::arg("x"), py::arg("h0") = py::none(),
           py::arg("c0") = py::none(), py::arg("lengths") = py::none())
      .def("grad", &PyModel::grad, py::arg("x"), py::arg("loss") = "sum",
           py::arg("target") = py::none(), py::arg("wrt") = "params", py::arg("names") = "torch",
           py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::arg("lengths") = py::none())
      .def("state_dict", &PyModel::state_dict, py::arg("names") = "torch")
      .def("load_state_dict", &PyModel::load_state_dict, py::arg("state"))
      .def("_dot", &PyModel::dot, py::arg("view"), py::arg("steps"), py::arg("grad"),
           py::arg("title"), py::arg("steps_shown"))
      .def_property_readonly("cell",
                             [](const PyModel& s) { return models::to_string(s.config().cell); })
      .def_property_readonly("input_size", [](const PyModel& s) { return s.config().input_size; })
      .def_property_readonly("hidden_size", [](const PyModel& s) { return s.config().hidden_size; })
      .def_property_readonly("num_layers", [](const PyModel& s) { return s.config().layers; })
      .def_property_readonly("bidirectional",
                             [](const PyModel& s) { return s.config().bidirectional; })
      .def_property_readonly("proj_size", [](const PyModel& s) { return s.config().proj_size; })
      .def_property_readonly("output_size", [](const PyModel& s) { return s.config().output_size; })
      .def_property_readonly("batch_first", &PyModel::batch_first)
      .def_property_readonly("precision", [](const PyModel& s) {
        return std::string(models::to_string(s.config().precision));
      });

  m.def(
      "render",
      [](const std::string& dot, const std::string& format) {
        std::string bytes;
        {
          py::gil_scoped_release unlocked;
          bytes = viz::render(dot, format);
        }
        return py::bytes(bytes);
      },
      py::arg("dot"), py::arg("format"), "DOT text laid out by Graphviz as svg, png or pdf");
  m.def("write_dot", &viz::write_dot, py::arg("dot"), py::arg("path"),
        "DOT text written as .dot, or rendered as .svg, .png or .pdf, by the path's extension");
}
