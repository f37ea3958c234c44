// The op builders: each appends one node to its inputs' graph (see framework/graph.h). The ops
// themselves live one per file beside this header; their handles (`tanh_op()`, ...) are here too,
// for code that rewrites graphs or builds nodes from descriptions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>

#include <rnngraph/framework/graph.h>

// Every op, by name. Adding an op = a file under ops/ and one line here.
#define RNNGRAPH_OPS(X) \
  X(add)                \
  X(broadcast_to)       \
  X(concat)             \
  X(div)                \
  X(exp)                \
  X(gather)             \
  X(gru_cell)           \
  X(gru_cell_grad)      \
  X(layer_norm)         \
  X(log)                \
  X(logsumexp)          \
  X(lstm_cell)          \
  X(lstm_cell_grad)     \
  X(lstm_gates_grad)    \
  X(lstm_hidden)        \
  X(lstm_hidden_grad)   \
  X(matmul)             \
  X(matmul_bf16)        \
  X(matmul_int8)        \
  X(matmul_packed)      \
  X(mean)               \
  X(mul)                \
  X(one_hot)            \
  X(pack_bf16)          \
  X(pack_columns)       \
  X(pad)                \
  X(quantize_columns)   \
  X(reshape)            \
  X(select)             \
  X(sigmoid)            \
  X(slice)              \
  X(softmax)            \
  X(stack)              \
  X(sub)                \
  X(sum)                \
  X(sum_to)             \
  X(tanh)

namespace rnngraph {

#define RNNGRAPH_DECLARE_OP(name) const Op& name##_op();
RNNGRAPH_OPS(RNNGRAPH_DECLARE_OP)
#undef RNNGRAPH_DECLARE_OP

// Joins tensors along `axis` (negative counts from the end); the other dims must agree.
Value concat(std::span<const Value> parts, int axis);
Value concat(std::initializer_list<Value> parts, int axis);
// The gradient of a tensor of shape `input` from the gradients of blocks of its rows (by first
// row; a block's rows are its elements over a row's), laid end to end in one concat whose rows
// no block covers are zeros: what select's and slice's Op::assemble_rows give grad(). The
// planner writes each block straight into its place.
Value rows_from_blocks(Graph& g, const Shape& input, const std::map<int64_t, Value>& blocks);
// Stacks equal shapes along a new first axis: N × [B, H] → [N, B, H].
Value stack(std::span<const Value> parts);

// a · b for rank-2 a and b (cblas_sgemm); the flags multiply by aᵀ or bᵀ without copying.
Value matmul(const Value& a, const Value& b, bool transpose_a = false, bool transpose_b = false);
// The same product on a weight packed once (ops/packed_gemm.h): pack_columns(w) is the packed
// copy, matmul_packed(a, w, packed) = a · w (a · wᵀ with transpose_b); w is there for the
// gradient. passes::pack_recurrent_weights makes them.
Value pack_columns(const Value& w, bool transpose = false);
Value matmul_packed(const Value& a, const Value& w, const Value& packed, bool transpose_b = false);
// The same product in int8 (ops/int8_gemm.h): quantize_columns(w) is w quantized per column once,
// matmul_int8(a, w, quantized) quantizes a's rows as it runs. No gradient (GraphError):
// passes::quantize_products makes them for int8 models, which run forward only.
Value quantize_columns(const Value& w, bool transpose = false);
Value matmul_int8(const Value& a, const Value& w, const Value& quantized, bool transpose_b = false);
// The same product with w in bfloat16 (ops/bf16_gemm.h), accumulated in float32: pack_bf16(w)
// rounds w once, matmul_bf16(a, w, packed) multiplies. No gradient either; for bf16 models.
Value pack_bf16(const Value& w, bool transpose = false);
Value matmul_bf16(const Value& a, const Value& w, const Value& packed, bool transpose_b = false);

// Elementwise, with numpy broadcasting ([B, H] + [1, H], x * scalar, ...).
Value add(const Value& a, const Value& b);
Value sub(const Value& a, const Value& b);
Value mul(const Value& a, const Value& b);
Value div(const Value& a, const Value& b);
Value tanh(const Value& x);
Value sigmoid(const Value& x);
Value exp(const Value& x);
Value log(const Value& x);

// The range [begin, end) of `axis`; a view when it is contiguous.
Value slice(const Value& x, int axis, int64_t begin, int64_t end);
// x[index] on the first axis, a view: [T, B, I] → [B, I].
Value select(const Value& x, int64_t index);
// x placed at [begin, begin + x's size) of `axis` in zeros of size `size` (slice's inverse).
Value pad(const Value& x, int axis, int64_t begin, int64_t size);
// The same data with another shape of equal size (a view, never a copy).
Value reshape(const Value& x, const Shape& shape);

// Reductions: to a [1] scalar, or along `axis` keeping it with size 1 ([B, H] → [1, H] on
// axis 0), so the result broadcasts back against its input.
Value sum(const Value& x);
Value sum(const Value& x, int axis);
Value mean(const Value& x);
Value mean(const Value& x, int axis);
// Broadcasting and its inverse: x repeated to `shape` (numpy rules), and x summed over the axes
// that broadcasting to x's shape would have repeated. Both return x itself when the shape is x's.
Value broadcast_to(const Value& x, const Shape& shape);
Value sum_to(const Value& x, const Shape& shape);

// log(Σ exp(x)) along `axis` (kept with size 1), computed stably (the maximum subtracted first).
Value logsumexp(const Value& x, int axis);
// exp(x) / Σ exp(x) along `axis`.
Value softmax(const Value& x, int axis);
// Each row (the last axis) to mean 0, variance 1: (x - mean) / sqrt(var + epsilon).
Value layer_norm(const Value& x, float epsilon = 1e-5f);
// Class ids → one-hot rows: ids of shape S (whole numbers stored as floats) → S + [depth].
Value one_hot(const Value& ids, int64_t depth);
// x[n, ids[n]] for x [N, C] and ids [N, 1]: each row's entry at its class id, as [N, 1].
Value gather(const Value& x, const Value& ids);

// Fused LSTM cells (made by passes::fuse_cells; ops/cell_kernels.h describes the gate terms,
// whose sum A [B, 4H] holds the gates f, i, o, g side by side):
//   lstm_cell:   c = σ(A_f) ⊙ c_prev + σ(A_i) ⊙ tanh(A_g)
//   lstm_hidden: h = σ(A_o) ⊙ tanh(c)
Value lstm_cell(std::span<const Value> terms, const Value& c_prev);
Value lstm_hidden(std::span<const Value> terms, const Value& c);
// Their vjps: inputs are the forward inputs then the output's gradient; the result is dA
// [B, 4H], or with wrt_state the gradient of the state input.
Value lstm_cell_grad(std::span<const Value> inputs, bool wrt_state);
Value lstm_hidden_grad(std::span<const Value> inputs, bool wrt_state);
// The two dA at once (passes::fuse_cell_gradients): lstm_cell_grad's for dc plus
// lstm_hidden_grad's for dh, every gate block of [B, 4H] in one loop.
Value lstm_gates_grad(std::span<const Value> terms, const Value& c_prev, const Value& c,
                      const Value& dc, const Value& dh);

// A fused GRU step (made by passes::fuse_cells; ops/gru_cell.cpp): x-side gate terms (x·W_x rows,
// [b_r b_z b_in]) and h-side ones (h·W_h, [0 0 b_hn]), each [B, 3H] or [1, 3H], and h.
Value gru_cell(std::span<const Value> x_terms, std::span<const Value> h_terms, const Value& h);
// Its vjp: gru_cell's inputs then the gradient of h'; `wrt` 0 gives the x side's dA, 1 the h
// side's, 2 the gradient of h.
Value gru_cell_grad(std::span<const Value> inputs, int64_t x_terms, int wrt);

}  // namespace rnngraph
