// matmul_bf16: a · W (or a · Wᵀ with transpose_b) with W in bfloat16, accumulated in float32
// (ops/bf16_gemm.h), from W rounded once, not per step by pack_bf16: inputs a [M, K], W, and
// pack_bf16(W).
#include <rnngraph/framework/graph.h>
#include <rnngraph/ops/bf16_gemm.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/reduced_products.h>

namespace rnngraph {
namespace {
struct Bf16 {
  static constexpr std::string_view pack_name = "pack_bf16", product_name = "matmul_bf16",
                                    precision = "bf16";
  static int64_t packed_floats(int64_t k, int64_t n) { return kernels::bf16_packed_floats(k, n); }
  static void pack(const float* w, int64_t ldw, int64_t k, int64_t n, bool t, float* out) {
    kernels::pack_bf16(w, ldw, k, n, t, out);
  }
  static void gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed,
                   int64_t n, float* c, int64_t ldc) {
    kernels::bf16_gemm(a, lda, m, k, packed, n, c, ldc);
  }
};
}  // namespace

const Op& pack_bf16_op() {
  static const reduced::Pack<Bf16> op;
  return op;
}
const Op& matmul_bf16_op() {
  static const reduced::Product<Bf16> op(pack_bf16_op());
  return op;
}
Value pack_bf16(const Value& w, bool transpose) {
  return reduced::pack<Bf16>(pack_bf16_op(), w, transpose);
}
Value matmul_bf16(const Value& a, const Value& w, const Value& packed, bool transpose_b) {
  return reduced::product<Bf16>(matmul_bf16_op(), a, w, packed, transpose_b);
}
}  // namespace rnngraph
