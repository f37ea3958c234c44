#include <rnngraph/models/losses.h>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/ops/ops.h>

namespace rnngraph::models {

Value sum_loss(const Value& y) { return sum(y); }

Value mse_loss(const Value& y, const Value& target) {
  if (!(y.shape() == target.shape()))
    throw ShapeError(fmt::format("mse_loss: the output is {} but the target is {}", y.shape().str(),
                                 target.shape().str()));
  const Value d = y - target;
  return mean(d * d);
}

Value cross_entropy(const Value& logits, const Value& ids) {
  const Shape& s = logits.shape();
  const int64_t classes = s[s.rank() - 1];
  const int64_t positions = s.numel() / classes;
  if (ids.shape().numel() != positions || s.rank() < 2)
    throw ShapeError(fmt::format("cross_entropy: logits {} need one class id per row, got ids {}",
                                 s.str(), ids.shape().str()));
  const Value rows = reshape(logits, {positions, classes});
  const Value targets = reshape(ids, {positions, 1});
  return mean(logsumexp(rows, 1) - gather(rows, targets));
}

}  // namespace rnngraph::models
