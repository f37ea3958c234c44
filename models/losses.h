// Losses, composed from graph ops (so their gradients come from the ops' vjps).
#pragma once

#include <string_view>

#include <rnngraph/framework/graph.h>

namespace rnngraph::models {

// Σ y: the loss whose gradient is ∂(sum of outputs)/∂θ, PyTorch's y.sum().backward().
Value sum_loss(const Value& y);
// mean((y - target)²), PyTorch's F.mse_loss with its default mean reduction.
Value mse_loss(const Value& y, const Value& target);
// Softmax cross-entropy, mean over positions: logits [..., V] and class ids of the leading shape
// ([T, B, V] with [T, B]). Stable: log Σ exp(logits) - logits[id], the maximum subtracted inside
// logsumexp. PyTorch's F.cross_entropy on the flattened positions.
Value cross_entropy(const Value& logits, const Value& ids);

// Over the positions `mask` [T, B, 1] marks with 1 (the steps within each sample's length):
// cross-entropy of logits [T, B, V] against ids [T, B], and the squared error of y [T, B, O]
// against target [T, B, O], each a mean over the marked positions (and, for the error, over O).
Value masked_cross_entropy(const Value& logits, const Value& ids, const Value& mask);
Value masked_mse_loss(const Value& y, const Value& target, const Value& mask);
// Each sample's output at its last valid step: y [T, B, O] summed over T against `last`
// [T, B, 1], which holds 1 at step length - 1 and 0 elsewhere: [B, O].
Value last_steps(const Value& y, const Value& last);

}  // namespace rnngraph::models
