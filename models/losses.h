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

}  // namespace rnngraph::models
