// Vectorised exp-based activations for the elementwise kernels: tanh, sigmoid and exp over whole
// arrays. libm's scalar tanhf / expf took a third of an LSTM's forward time; these loops
// vectorise (SSE2 at the baseline ISA, AVX2 + FMA and AVX-512 picked at run time, ops/isa.h), and
// stay within 2 ulp-scale errors of libm, bounded and tested in tests/test_ops.cpp:
//   |exp_array(x) - e^x| ≤ 3e-7 · e^x              for x in [-87.3, 88.7]; 0 below, +inf above
//   |tanh_array(x) - tanh x| ≤ 3e-7                for every x
//   |sigmoid_array(x) - σ(x)| ≤ 3e-7 · σ(x)         for x ≥ -87.3; below, both are < 1.3e-38
// NaN in, NaN out.
#pragma once

#include <cstdint>
#include <span>

#include <rnngraph/ops/isa.h>

namespace rnngraph::kernels {

void exp_array(const float* x, float* y, int64_t n, Isa isa = best_isa());
void tanh_array(const float* x, float* y, int64_t n, Isa isa = best_isa());
void sigmoid_array(const float* x, float* y, int64_t n, Isa isa = best_isa());

// tanh or σ of a sum, y[i] = f(x[0][i] + x[1][i] + …), for the fused cells' gate terms (h·W_h,
// x·W_x, the bias): on AVX-512 summed on the way in, one pass over the data; otherwise summed
// into y first. y may be one of the x.
void tanh_of_sum(std::span<const float* const> x, float* y, int64_t n, Isa isa = best_isa());
void sigmoid_of_sum(std::span<const float* const> x, float* y, int64_t n, Isa isa = best_isa());

}  // namespace rnngraph::kernels
