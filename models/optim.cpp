#include <rnngraph/models/optim.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::models {

Optimizer::Optimizer(Parameters params, std::vector<std::string> buffers)
    : params_(std::move(params)), buffer_names_(std::move(buffers)) {
  for (std::size_t b = 0; b < buffer_names_.size(); ++b) {
    buffers_.emplace_back();
    for (const auto& [name, p] : params_) buffers_.back().emplace_back(p.shape());  // zeros
  }
}

void Optimizer::step(std::span<const Tensor> grads) {
  if (grads.size() != params_.size())
    throw GraphError(
        fmt::format("{}: {} gradients for {} parameters", name(), grads.size(), params_.size()));
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (!(grads[i].shape() == params_[i].second.shape()))
      throw ShapeError(fmt::format("{}: the gradient of '{}' is {}, the parameter {}", name(),
                                   params_[i].first, grads[i].shape().str(),
                                   params_[i].second.shape().str()));
  ++steps_;
  for (std::size_t i = 0; i < params_.size(); ++i)
    update(i, params_[i].second.data(), grads[i].data(), params_[i].second.numel());
}

std::vector<Tensor> Optimizer::gradients(const Results& results) const {
  std::vector<Tensor> grads;
  for (const auto& [name, p] : params_) grads.push_back(results["grad/" + name]);
  return grads;
}

void Optimizer::step(const Results& results) { step(gradients(results)); }

io::TensorMap Optimizer::state() const {
  io::TensorMap out;
  out.emplace("optim/step", Tensor({1}, {float(steps_)}));
  for (std::size_t b = 0; b < buffers_.size(); ++b)
    for (std::size_t i = 0; i < params_.size(); ++i)
      out.emplace(fmt::format("optim/{}/{}", buffer_names_[b], params_[i].first),
                  buffers_[b][i].clone());
  return out;
}

void Optimizer::load_state(const io::TensorMap& state) {
  auto find = [&](const std::string& key, const Shape& shape) -> const Tensor& {
    auto it = state.find(key);
    if (it == state.end()) throw FormatError(fmt::format("{} state: '{}' is missing", name(), key));
    if (!(it->second.shape() == shape))
      throw FormatError(fmt::format("{} state: '{}' is {}, expected {}", name(), key,
                                    it->second.shape().str(), shape.str()));
    return it->second;
  };
  const float step = find("optim/step", Shape{1}).values()[0];
  if (!(step >= 0 && step < 16777216.0f) || step != std::floor(step))
    throw FormatError(fmt::format("{} state: step {} is not a count", name(), step));
  for (std::size_t b = 0; b < buffers_.size(); ++b)
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor& t = find(fmt::format("optim/{}/{}", buffer_names_[b], params_[i].first),
                             params_[i].second.shape());
      std::copy_n(t.data(), t.numel(), buffers_[b][i].data());
    }
  steps_ = int64_t(step);
}

// torch.optim.SGD: d = g + wd·p; the momentum buffer starts as d, then buf = m·buf + d;
// p -= lr·buf (lr·d without momentum).
Sgd::Sgd(Parameters params, SgdOptions options)
    : Optimizer(std::move(params), options.momentum != 0 ? std::vector<std::string>{"momentum"}
                                                         : std::vector<std::string>{}),
      o_(options) {}

void Sgd::update(std::size_t i, float* p, const float* g, int64_t n) {
  float* buf = o_.momentum != 0 ? buffer(0, i) : nullptr;
  const float lr = float(o_.lr), momentum = float(o_.momentum), decay = float(o_.weight_decay);
  for (int64_t k = 0; k < n; ++k) {
    float d = g[k] + decay * p[k];
    if (buf) d = buf[k] = steps() == 1 ? d : momentum * buf[k] + d;
    p[k] -= lr * d;
  }
}

// torch.optim.Adam: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², and
// p -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps), the bias corrections in double
// as Python computes them.
Adam::Adam(Parameters params, AdamOptions options)
    : Optimizer(std::move(params), {"exp_avg", "exp_avg_sq"}), o_(options) {}

void Adam::update(std::size_t i, float* p, const float* g, int64_t n) {
  float *m = buffer(0, i), *v = buffer(1, i);
  const double t = double(steps());
  const float step_size = float(o_.lr / (1.0 - std::pow(o_.beta1, t)));
  const float bias2_sqrt = float(std::sqrt(1.0 - std::pow(o_.beta2, t)));
  const float b1 = float(o_.beta1), b2 = float(o_.beta2), c1 = float(1 - o_.beta1),
              c2 = float(1 - o_.beta2), eps = float(o_.eps), decay = float(o_.weight_decay);
  for (int64_t k = 0; k < n; ++k) {
    const float d = g[k] + decay * p[k];
    m[k] = b1 * m[k] + c1 * d;
    v[k] = b2 * v[k] + c2 * d * d;
    p[k] -= step_size * (m[k] / (std::sqrt(v[k]) / bias2_sqrt + eps));
  }
}

Optimizer::Parameters graph_parameters(const Graph& g) {
  Optimizer::Parameters out;
  for (int id : g.parameters()) out.emplace_back(g.node(id).name, g.node(id).value);
  return out;
}

float clip_grad_norm(std::span<const Tensor> grads, float max_norm) {
  double total = 0;
  for (const Tensor& t : grads)
    for (float v : t.values()) total += double(v) * double(v);
  const float norm = float(std::sqrt(total));
  const float coef = max_norm / (norm + 1e-6f);
  if (coef < 1)
    for (const Tensor& t : grads)
      for (float& v : t.values()) v *= coef;
  return norm;
}

}  // namespace rnngraph::models
