// matmul: a · b on our packed micro-kernels (a · b, a · bᵀ; aᵀ · b on AVX-512) or OpenBLAS's
// cblas_sgemm (aᵀ · b below AVX-512).
// Transpose flags are attributes, so the backward products (grad · Wᵀ, xᵀ · grad) need no
// transposed copies.
#include <algorithm>

#include <cblas.h>

#include <rnngraph/framework/threads.h>

#include <rnngraph/framework/op.h>
#include <rnngraph/ops/kernels.h>
#include <rnngraph/ops/ops.h>
#include <rnngraph/ops/packed_gemm.h>

namespace rnngraph {
namespace {
// Where Aᵀ · b (a weight's gradient, summed over T·B rows) runs on our kernels: on AVX-512,
// where they match OpenBLAS's AVX-512 kernels (512 × 6400 · 6400 × 2048 on one Sapphire Rapids
// core: 176–178 against 178–180 GFLOP/s; 256 × 3200 · 3200 × 1024: 183 against 178) and beat
// them pinned to AVX2 (OPENBLAS_CORETYPE=Haswell: 118). Below AVX-512 OpenBLAS's AVX2 kernels
// stay ahead of ours (118 against 102–107, the same products, both capped at AVX2).
bool ours_for_weight_gradients() {
  static const bool ours = kernels::best_isa() >= kernels::Isa::Avx512;
  return ours;
}
struct Matmul final : Op {
  std::string_view name() const override { return "matmul"; }

  Shape infer(std::span<const Shape> in, const Attrs& attrs) const override {
    kernels::expect_arity(in, 2);
    const Shape &a = in[0], &b = in[1];
    if (a.rank() != 2 || b.rank() != 2)
      throw ShapeError(fmt::format("needs two matrices, got {} and {}", a.str(), b.str()));
    const bool ta = attrs.get("transpose_a", 0), tb = attrs.get("transpose_b", 0);
    const int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
    const int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
    if (k != kb)
      throw ShapeError(fmt::format("inner dimensions differ: {}{} x {}{} ({} vs {})", a.str(),
                                   ta ? "^T" : "", b.str(), tb ? "^T" : "", k, kb));
    return Shape{m, n};
  }

  void forward(std::span<const Tensor> in, const Tensor& out, const Attrs& attrs) const override {
    const Tensor &a = in[0], &b = in[1];
    const bool ta = attrs.get("transpose_a", 0), tb = attrs.get("transpose_b", 0);
    const int m = int(out.shape()[0]), n = int(out.shape()[1]);
    const int k = int(ta ? a.shape()[0] : a.shape()[1]);
    const int lda = int(a.shape()[1]), ldb = int(b.shape()[1]);
    // Our own kernels (ops/packed_gemm.h) for a · op(b): on one AVX2 core here they match or beat
    // OpenBLAS (tall 3200 × 256 · 256 × 1024: 84 against 79 GFLOP/s). Aᵀ · b too on AVX-512
    // (above); below it, sgemm.
    if (!ta || ours_for_weight_gradients()) {
      kernels::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, out.data(), n);
      return;
    }
    // Large products are split over the pool (framework/threads.h), each part a single-threaded
    // sgemm: rows of C when it is taller than wide, else columns.
    const int threads =
        int64_t(m) * n * k < (int64_t(1) << 20) ? 1 : std::min(compute_threads(), std::max(m, n));
    const bool by_rows = m >= n;
    parallel_for(threads, [&](int t) {
      const auto [begin, end] = split(by_rows ? m : n, threads, t);
      // op(A)'s rows begin.. are A's rows (or columns, transposed); op(B)'s columns likewise.
      const float* pa = a.data() + (by_rows ? (ta ? begin : begin * lda) : 0);
      const float* pb = b.data() + (by_rows ? 0 : (tb ? begin * ldb : begin));
      float* pc = out.data() + (by_rows ? begin * n : begin);
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                  by_rows ? int(end - begin) : m, by_rows ? n : int(end - begin), k, 1.0f, pa, lda,
                  pb, ldb, 0.0f, pc, n);
    });
  }

  // C = op(A) · op(B). Each gradient is one more product, the transposes again being flags:
  //   C = A·B:   dA = G·Bᵀ,  dB = Aᵀ·G       C = A·Bᵀ:   dA = G·B,    dB = Gᵀ·A
  //   C = Aᵀ·B:  dA = B·Gᵀ,  dB = A·G        C = Aᵀ·Bᵀ:  dA = Bᵀ·Gᵀ,  dB = Gᵀ·Aᵀ
  std::vector<Value> vjp(const VjpArgs& a) const override {
    const Value &A = a.inputs[0], &B = a.inputs[1], &G = a.grad;
    const bool ta = a.attrs.get("transpose_a", 0), tb = a.attrs.get("transpose_b", 0);
    if (!ta && !tb) return {matmul(G, B, false, true), matmul(A, G, true, false)};
    if (!ta && tb) return {matmul(G, B), matmul(G, A, true, false)};
    if (ta && !tb) return {matmul(B, G, false, true), matmul(A, G)};
    return {matmul(B, G, true, true), matmul(G, A, true, true)};
  }

  std::string_view color() const override { return "#f8cecc"; }
};
}  // namespace

const Op& matmul_op() {
  static const Matmul op;
  return op;
}

Value matmul(const Value& a, const Value& b, bool transpose_a, bool transpose_b) {
  Attrs attrs;
  if (transpose_a) attrs.ints["transpose_a"] = 1;
  if (transpose_b) attrs.ints["transpose_b"] = 1;
  return a.graph().apply(matmul_op(), {a, b}, std::move(attrs));
}
}  // namespace rnngraph
