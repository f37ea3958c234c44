// matmul_int8: a · W (or a · Wᵀ with transpose_b) in int8 (ops/int8_gemm.h), from W quantized
// once, not per step by quantize_columns: inputs a [M, K], W, and quantize_columns(W).
#include <rnngraph/framework/graph.h>
#include <rnngraph/ops/int8_gemm.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/reduced_products.h>

namespace rnngraph {
namespace {
struct Int8 {
  static constexpr std::string_view pack_name = "quantize_columns", product_name = "matmul_int8",
                                    precision = "int8";
  static int64_t packed_floats(int64_t k, int64_t n) { return kernels::int8_packed_floats(k, n); }
  static void pack(const float* w, int64_t ldw, int64_t k, int64_t n, bool t, float* out) {
    kernels::quantize_columns(w, ldw, k, n, t, out);
  }
  static void gemm(const float* a, int64_t lda, int64_t m, int64_t k, const float* packed,
                   int64_t n, float* c, int64_t ldc) {
    kernels::int8_gemm(a, lda, m, k, packed, n, c, ldc);
  }
};
}  // namespace

const Op& quantize_columns_op() {
  static const reduced::Pack<Int8> op;
  return op;
}
const Op& matmul_int8_op() {
  static const reduced::Product<Int8> op(quantize_columns_op());
  return op;
}
Value quantize_columns(const Value& w, bool transpose) {
  return reduced::pack<Int8>(quantize_columns_op(), w, transpose);
}
Value matmul_int8(const Value& a, const Value& w, const Value& quantized, bool transpose_b) {
  return reduced::product<Int8>(matmul_int8_op(), a, w, quantized, transpose_b);
}
}  // namespace rnngraph
