// Optimizers with torch.optim's semantics (SGD with momentum and weight decay, Adam with bias
// correction) and clip_grad_norm_, updating parameter tensors in place between runs: an
// Executor's next run reads the new values, since parameters are shared, never copied.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rnngraph/framework/executor.h>
#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/io/safetensors.h>

namespace rnngraph::models {

// Hyperparameters are doubles, as Python's floats are: torch.optim turns them into float32
// factors (or computes bias corrections in double) exactly where these classes do.
struct SgdOptions {
  double lr = 0.01;
  double momentum = 0;      // 0: plain SGD
  double weight_decay = 0;  // L2: adds weight_decay * p to the gradient
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2 (torch.optim.Adam's, not AdamW's decoupled decay)
};

class Optimizer {
 public:
  using Parameters = std::vector<std::pair<std::string, Tensor>>;
  virtual ~Optimizer() = default;

  // One update from the gradients, given in the order of parameters(), each of its parameter's
  // shape (ShapeError otherwise).
  void step(std::span<const Tensor> grads);
  // The same with the gradients "grad/<name>" of a run of a graph that grad() extended.
  void step(const Results& results);
  // Those gradients, in the order of parameters() (views of the run's results: clip_grad_norm
  // may scale them in place before step()).
  std::vector<Tensor> gradients(const Results& results) const;

  const Parameters& parameters() const { return params_; }
  int64_t steps() const { return steps_; }
  virtual std::string_view name() const = 0;
  // The learning rate the next step uses (what a schedule sets, as a torch.optim scheduler
  // writes param_group["lr"]).
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;

  // The state to resume from: "optim/step" and "optim/<buffer>/<parameter>" tensors.
  io::TensorMap state() const;
  // FormatError for a state of another optimizer, or one whose tensors do not fit.
  void load_state(const io::TensorMap& state);

 protected:
  // `buffers`: the per-parameter state each optimizer keeps (momentum; exp_avg, exp_avg_sq).
  Optimizer(Parameters params, std::vector<std::string> buffers);
  // Updates parameter i (p) from its gradient g, with buffers()[b][i] as state; steps() already
  // counts this step (1 on the first).
  virtual void update(std::size_t i, float* p, const float* g, int64_t n) = 0;
  float* buffer(std::size_t b, std::size_t i) { return buffers_[b][i].data(); }

 private:
  Parameters params_;
  std::vector<std::string> buffer_names_;
  std::vector<std::vector<Tensor>> buffers_;  // [buffer][parameter]
  int64_t steps_ = 0;
};

class Sgd final : public Optimizer {
 public:
  Sgd(Parameters params, SgdOptions options);
  std::string_view name() const override { return "sgd"; }
  double lr() const override { return o_.lr; }
  void set_lr(double lr) override { o_.lr = lr; }

 private:
  void update(std::size_t i, float* p, const float* g, int64_t n) override;
  SgdOptions o_;
};

class Adam final : public Optimizer {
 public:
  Adam(Parameters params, AdamOptions options);
  std::string_view name() const override { return "adam"; }
  double lr() const override { return o_.lr; }
  void set_lr(double lr) override { o_.lr = lr; }

 private:
  void update(std::size_t i, float* p, const float* g, int64_t n) override;
  AdamOptions o_;
};

// Every parameter of a graph, by name, in creation order (what an optimizer updates).
Optimizer::Parameters graph_parameters(const Graph& g);

// Scales the gradients in place so that their global L2 norm is at most max_norm, as
// torch.nn.utils.clip_grad_norm_ does (factor max_norm / (norm + 1e-6) when below 1). Returns the
// norm before clipping.
float clip_grad_norm(std::span<const Tensor> grads, float max_norm);

}  // namespace rnngraph::models
