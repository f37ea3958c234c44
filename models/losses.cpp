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

namespace {
void check_mask(std::string_view loss, const Value& y, const Value& mask) {
  const Shape& s = y.shape();
  if (s.rank() != 3 || !(mask.shape() == Shape{s[0], s[1], 1}))
    throw ShapeError(fmt::format("{}: outputs {} need a mask [T, B, 1], got {}", loss, s.str(),
                                 mask.shape().str()));
}
}  // namespace

Value masked_cross_entropy(const Value& logits, const Value& ids, const Value& mask) {
  check_mask("masked_cross_entropy", logits, mask);
  const Shape& s = logits.shape();
  const int64_t positions = s[0] * s[1], classes = s[2];
  if (ids.shape().numel() != positions)
    throw ShapeError(fmt::format("masked_cross_entropy: logits {} need ids [T, B], got {}", s.str(),
                                 ids.shape().str()));
  const Value rows = reshape(logits, {positions, classes});
  const Value per_position = logsumexp(rows, 1) - gather(rows, reshape(ids, {positions, 1}));
  const Value weights = reshape(mask, {positions, 1});
  return sum(per_position * weights) / sum(weights);
}

Value masked_mse_loss(const Value& y, const Value& target, const Value& mask) {
  check_mask("masked_mse_loss", y, mask);
  if (!(y.shape() == target.shape()))
    throw ShapeError(fmt::format("masked_mse_loss: the output is {} but the target is {}",
                                 y.shape().str(), target.shape().str()));
  const Value d = y - target;
  return sum(d * d * mask) / (sum(mask) * float(y.shape()[2]));
}

Value last_steps(const Value& y, const Value& last) {
  check_mask("last_steps", y, last);
  const Shape& s = y.shape();
  return reshape(sum(y * last, 0), {s[1], s[2]});
}

}  // namespace rnngraph::models
