// The op builders: each appends one node to its inputs' graph (see framework/graph.h). The ops
// themselves live one per file beside this header.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

#include <rnngraph/framework/graph.h>

namespace rnngraph {

// Joins tensors along `axis` (negative counts from the end); the other dims must agree.
Value concat(std::span<const Value> parts, int axis);
Value concat(std::initializer_list<Value> parts, int axis);
// Stacks equal shapes along a new first axis: N × [B, H] → [N, B, H].
Value stack(std::span<const Value> parts);

// a · b for rank-2 a and b (cblas_sgemm); the flags multiply by aᵀ or bᵀ without copying.
Value matmul(const Value& a, const Value& b, bool transpose_a = false, bool transpose_b = false);

// Elementwise, with numpy broadcasting ([B, H] + [1, H], x * scalar, ...).
Value add(const Value& a, const Value& b);
Value sub(const Value& a, const Value& b);
Value mul(const Value& a, const Value& b);
Value tanh(const Value& x);
Value sigmoid(const Value& x);

// The range [begin, end) of `axis`; a view when it is contiguous.
Value slice(const Value& x, int axis, int64_t begin, int64_t end);
// x[index] on the first axis, a view: [T, B, I] → [B, I].
Value select(const Value& x, int64_t index);

// Reductions: to a [1] scalar, or along `axis` keeping it with size 1 ([B, H] → [1, H] on
// axis 0), so the result broadcasts back against its input.
Value sum(const Value& x);
Value sum(const Value& x, int axis);
Value mean(const Value& x);
Value mean(const Value& x, int axis);

}  // namespace rnngraph
