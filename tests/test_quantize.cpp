// Int8 and bf16 models (models::Precision, `rnngraph quantize`): the int8 product against the
// quantized product computed here from the definition, and against the float32 product within
// the rounding of its bytes; the bf16 rounding against hand-made bit patterns and its product
// against a double-precision product of the rounded weights; whole models within the error the
// docs state; every weight product of every layer, direction and the output layer quantized.
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/models/model_runner.h>
#include <rnngraph/models/rolled.h>
#include <rnngraph/ops/bf16_gemm.h>
#include <rnngraph/ops/int8_gemm.h>

#include <nlohmann/json.hpp>

#include "helpers.h"

using namespace rnngraph;

namespace {
// The quantization ops/int8_gemm.h defines, in the same float steps: values of largest
// magnitude `top` map to ±levels, rounded half away from zero.
std::vector<int> levels_of(std::span<const float> x, float levels, float* scale) {
  float top = 0;
  for (float v : x) top = std::max(top, std::fabs(v));
  *scale = top / levels;
  const float inverse = top > 0 ? levels / top : 0.0f;
  std::vector<int> q;
  for (float v : x) {
    const float scaled = v * inverse;
    q.push_back(int(std::clamp(scaled + (scaled < 0 ? -0.5f : 0.5f), -levels, levels)));
  }
  return q;
}

struct Case {
  int64_t m, k, n;
  bool transposed;
};

// a [m, k] and W (or Wᵀ), quantized here: y_ref = s_r · s_c · Σ_p q_rp · q_pc in exact
// integers, and the float32 product's distance bound Σ_p |a_rp| · s_c / 2 + |w'_pc| · s_r / 2
// (each byte within half a step of its value; w' the quantized weight). W packed for
// `pack_isa` (its levels), multiplied on `isa`.
void check_int8_product(const Case& c, kernels::Isa pack_isa, kernels::Isa isa) {
  const Tensor a = init::normal(0, 1, 11).tensor({c.m, c.k});
  const Tensor w =
      init::uniform(-0.1f, 0.1f, 12).tensor(c.transposed ? Shape{c.n, c.k} : Shape{c.k, c.n});
  auto w_at = [&](int64_t p, int64_t col) {
    return c.transposed ? w.at({col, p}) : w.at({p, col});
  };
  std::vector<float> packed(std::size_t(kernels::int8_packed_floats(c.k, c.n)));
  kernels::quantize_columns(w.data(), c.transposed ? c.k : c.n, c.k, c.n, c.transposed,
                            packed.data(), pack_isa);
  Tensor got({c.m, c.n});
  kernels::int8_gemm(a.data(), c.k, c.m, c.k, packed.data(), c.n, got.data(), c.n, isa);
  const int levels = kernels::int8_weight_levels(pack_isa);
  std::vector<std::vector<int>> wq(std::size_t(c.n));
  std::vector<float> ws(std::size_t(c.n));
  for (int64_t col = 0; col < c.n; ++col) {
    std::vector<float> column;
    for (int64_t p = 0; p < c.k; ++p) column.push_back(w_at(p, col));
    wq[std::size_t(col)] = levels_of(column, float(levels), &ws[std::size_t(col)]);
  }
  int off_definition = 0, off_float = 0;
  for (int64_t r = 0; r < c.m; ++r) {
    float as = 0;
    const std::vector<int> aq =
        levels_of(a.values().subspan(std::size_t(r * c.k), std::size_t(c.k)), 127, &as);
    for (int64_t col = 0; col < c.n; ++col) {
      int64_t dot = 0;
      double exact = 0, bound = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        const int qw = wq[std::size_t(col)][std::size_t(p)];
        dot += int64_t(aq[std::size_t(p)]) * qw;
        exact += double(a.at({r, p})) * w_at(p, col);
        bound += std::fabs(a.at({r, p})) * ws[std::size_t(col)] / 2 +
                 std::fabs(qw * ws[std::size_t(col)]) * as / 2;
      }
      const double reference = double(as) * ws[std::size_t(col)] * double(dot);
      const double y = got.at({r, col});
      // two float products and an int32 → float conversion: a few ulp of the reference
      off_definition += !(std::fabs(y - reference) <= 1e-6 * std::fabs(reference) + 1e-30);
      off_float += !(std::fabs(y - exact) <= bound * (1 + 1e-5));
    }
  }
  BOOST_CHECK_EQUAL(off_definition, 0);
  BOOST_CHECK_EQUAL(off_float, 0);
}

// a [m, k] · W (or Wᵀ), both rounded to bf16: each output against the same product of the
// rounded values in double precision, within float32 summation's bound γ_k · Σ_p |a_rp · w_pc|
// (Higham §3.1; the products of two bf16 values are exact in float32, and each is added with
// one rounding).
void check_bf16_product(const Case& c, kernels::Isa isa) {
  const Tensor a = init::normal(0, 1, 21).tensor({c.m, c.k});
  const Tensor w =
      init::uniform(-0.5f, 0.5f, 22).tensor(c.transposed ? Shape{c.n, c.k} : Shape{c.k, c.n});
  std::vector<float> packed(std::size_t(kernels::bf16_packed_floats(c.k, c.n)));
  kernels::pack_bf16(w.data(), c.transposed ? c.k : c.n, c.k, c.n, c.transposed, packed.data());
  Tensor got({c.m, c.n});
  kernels::bf16_gemm(a.data(), c.k, c.m, c.k, packed.data(), c.n, got.data(), c.n, isa);
  const double unit = std::ldexp(1.0, -24), gamma = c.k * unit / (1 - c.k * unit);
  auto rounded = [](float v) { return double(kernels::from_bf16(kernels::to_bf16(v))); };
  int off = 0;
  double rounding = 0;  // how far rounding a and W moves the product, for the record
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t col = 0; col < c.n; ++col) {
      double reference = 0, magnitude = 0, exact = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        const float original = c.transposed ? w.at({col, p}) : w.at({p, col});
        const double product = rounded(a.at({r, p})) * rounded(original);
        reference += product;
        magnitude += std::fabs(product);
        exact += double(a.at({r, p})) * original;
      }
      off += !(std::fabs(got.at({r, col}) - reference) <= gamma * magnitude + 1e-30);
      rounding = std::max(rounding, std::fabs(reference - exact) / magnitude);
    }
  BOOST_CHECK_EQUAL(off, 0);
  // each value within 2⁻⁸ of itself, relatively, so each product within 2⁻⁷ + 2⁻¹⁶
  BOOST_CHECK_LE(rounding, std::ldexp(1.0, -7) + std::ldexp(1.0, -16));
}

// max |y_q − y_f32| / max |y_f32| of a model in `precision` on x ~ N(0, 1) [T, B, I].
double relative_error(const models::Config& config, int64_t steps, int64_t batch,
                      models::Precision precision = models::Precision::Int8) {
  models::Model reference(config);
  models::Config int8 = config;
  int8.precision = precision;
  const Tensor x = init::normal(0, 1, 5).tensor({steps, batch, config.input_size});
  const Tensor expected = reference.run({{"x", x}})["y"].clone();
  models::Model quantized(int8);  // the same seed: the same weights
  const Tensor got = quantized.run({{"x", x}})["y"];
  double worst = 0, top = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    top = std::max(top, double(std::fabs(expected.data()[i])));
    const double d = std::fabs(double(got.data()[i]) - expected.data()[i]);
    worst = std::isfinite(d) ? std::max(worst, d) : INFINITY;
  }
  return worst / top;
}
// Every kind of weight product of `cell` in `precision`: two layers, both directions, an output
// layer and, for the LSTM, a projection.
models::Config every_product(models::Precision precision, models::Cell cell = models::Cell::Lstm) {
  return {.cell = cell,
          .input_size = 12,
          .hidden_size = 24,
          .layers = 2,
          .output_size = 5,
          .bidirectional = true,
          .proj_size = cell == models::Cell::Lstm ? 16 : 0,
          .precision = precision};
}
const models::Cell kCells[] = {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru};

// How many of the step graphs' products are `product`; checks that no float32 product of a
// weight is left in any of them.
int products_of(const models::Config& c, const Op& product) {
  models::RolledPlan plan(c, models::Model(c).weights(), 3);
  int count = 0;
  for (const auto& layer : plan.layers()) {
    const Graph& g = *layer->step;
    const std::vector<char> fixed = passes::static_nodes(g);
    for (const Node& n : g.nodes()) {
      count += n.is(product);
      const bool float_product = n.is(matmul_op()) || n.is(matmul_packed_op());
      BOOST_CHECK_MESSAGE(!(float_product && fixed[std::size_t(n.inputs[1])]),
                          "a float32 product of a weight: " << n.name);
    }
  }
  BOOST_TEST_MESSAGE(count << " " << product.name() << " products in " << plan.layers().size()
                           << " step graphs");
  return count;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(quantize)

// `check` on every ISA this CPU runs, for each case.
template <class Check>
void on_every_isa(std::initializer_list<Case> cases, Check check) {
  for (const Case& c : cases)
    for (kernels::Isa isa : kernels::runnable_isas())
      BOOST_TEST_CONTEXT(kernels::isa_name(isa) << " m=" << c.m << " k=" << c.k << " n=" << c.n
                                                << (c.transposed ? " Wᵀ" : " W")) {
        check(c, isa);
      }
}

BOOST_AUTO_TEST_CASE(int8_products_equal_their_definition_on_every_isa) {
  // Edges: k not a multiple of 4, n of 16 or of 32 (a group pair and one alone), rows around the
  // 4- and 8-row tiles and the 48-row blocks.
  const std::initializer_list<Case> cases{Case{1, 1, 1, false},   Case{5, 7, 17, false},
                                          Case{3, 13, 40, true},  Case{32, 256, 64, false},
                                          Case{50, 33, 20, true}, Case{9, 100, 16, false},
                                          Case{57, 64, 80, false}};
  on_every_isa(cases, [](const Case& c, kernels::Isa isa) { check_int8_product(c, isa, isa); });
  // W packed for this CPU (8 bits where it has VNNI) and multiplied on each ISA below it: AVX2
  // hands 8-bit weights to the portable kernel
  on_every_isa(cases, [](const Case& c, kernels::Isa isa) {
    check_int8_product(c, kernels::best_isa(), isa);
  });
}

BOOST_AUTO_TEST_CASE(int8_weights_have_8_bits_where_the_cpu_has_a_dot_product) {
  BOOST_CHECK_EQUAL(kernels::int8_weight_levels(kernels::Isa::Avx2), 63);
  BOOST_CHECK_EQUAL(kernels::int8_weight_levels(kernels::Isa::Avx512), 63);
  BOOST_CHECK_EQUAL(kernels::int8_weight_levels(kernels::Isa::Avx512Vnni), 127);
  BOOST_CHECK_EQUAL(kernels::int8_weight_levels(kernels::Isa::Amx), 127);
}

BOOST_AUTO_TEST_CASE(a_non_finite_row_gives_nan_in_its_row_alone) {
  Tensor a = init::normal(0, 1, 3).tensor({3, 8});
  a.data()[8 + 2] = std::numeric_limits<float>::quiet_NaN();
  a.data()[16 + 5] = INFINITY;
  const Tensor w = init::normal(0, 1, 4).tensor({8, 5});
  std::vector<float> packed(std::size_t(kernels::int8_packed_floats(8, 5)));
  kernels::quantize_columns(w.data(), 5, 8, 5, false, packed.data());
  for (kernels::Isa isa : kernels::runnable_isas()) {
    Tensor y({3, 5});
    kernels::int8_gemm(a.data(), 8, 3, 8, packed.data(), 5, y.data(), 5, isa);
    for (int64_t c = 0; c < 5; ++c) {
      BOOST_CHECK(std::isfinite(y.at({0, c})));
      BOOST_CHECK(std::isnan(y.at({1, c})));
      BOOST_CHECK(std::isnan(y.at({2, c})));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tiny_row_or_column_quantizes_to_zero_not_to_an_overflow) {
  // max |x| below about 4e-37: levels / max overflows to inf (it reached a float-to-int
  // conversion as inf or NaN before)
  Tensor a = init::normal(0, 1, 3).tensor({2, 8});
  for (int64_t p = 0; p < 8; ++p) a.data()[8 + p] = p % 2 ? 1e-38f : 0.0f;
  Tensor w = init::normal(0, 1, 4).tensor({8, 3});
  for (int64_t p = 0; p < 8; ++p) w.data()[p * 3 + 1] = p % 3 ? -1e-38f : 0.0f;
  std::vector<float> packed(std::size_t(kernels::int8_packed_floats(8, 3)));
  kernels::quantize_columns(w.data(), 3, 8, 3, false, packed.data());
  for (kernels::Isa isa : kernels::runnable_isas()) {
    Tensor y({2, 3});
    kernels::int8_gemm(a.data(), 8, 2, 8, packed.data(), 3, y.data(), 3, isa);
    for (int64_t c = 0; c < 3; ++c) BOOST_CHECK_LE(std::fabs(y.at({1, c})), 1e-30f);
    BOOST_CHECK_LE(std::fabs(y.at({0, 1})), 1e-30f);
    BOOST_CHECK(std::fabs(y.at({0, 0})) > 1e-3f);
  }
}

BOOST_AUTO_TEST_CASE(a_non_finite_weight_gives_nan_in_its_column_alone) {
  const Tensor a = init::normal(0, 1, 3).tensor({2, 6});
  for (bool transposed : {false, true}) {
    Tensor w = init::normal(0, 1, 4).tensor(transposed ? Shape{4, 6} : Shape{6, 4});
    // column 1 of W gets a NaN, column 3 an infinity
    (transposed ? w.data()[1 * 6 + 2] : w.data()[2 * 4 + 1]) = std::nanf("");
    (transposed ? w.data()[3 * 6 + 5] : w.data()[5 * 4 + 3]) = -INFINITY;
    std::vector<float> packed(std::size_t(kernels::int8_packed_floats(6, 4)));
    kernels::quantize_columns(w.data(), transposed ? 6 : 4, 6, 4, transposed, packed.data());
    for (kernels::Isa isa : kernels::runnable_isas()) {
      Tensor y({2, 4});
      kernels::int8_gemm(a.data(), 6, 2, 6, packed.data(), 4, y.data(), 4, isa);
      for (int64_t r = 0; r < 2; ++r) {
        BOOST_CHECK(std::isfinite(y.at({r, 0})) && std::isfinite(y.at({r, 2})));
        BOOST_CHECK(std::isnan(y.at({r, 1})) && std::isnan(y.at({r, 3})));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bf16_rounds_to_nearest_even_and_keeps_nan_and_inf) {
  using kernels::to_bf16;
  BOOST_CHECK_EQUAL(to_bf16(1.0f), 0x3f80);
  BOOST_CHECK_EQUAL(to_bf16(-2.0f), 0xc000);
  // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties to even (1); a hair above rounds up.
  BOOST_CHECK_EQUAL(to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  BOOST_CHECK_EQUAL(to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);
  // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ (odd) and 1 + 2·2⁻⁷ (even): up.
  BOOST_CHECK_EQUAL(to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  BOOST_CHECK_EQUAL(to_bf16(INFINITY), 0x7f80);
  BOOST_CHECK_EQUAL(to_bf16(-INFINITY), 0xff80);
  BOOST_CHECK(std::isnan(kernels::from_bf16(to_bf16(NAN))));
  // a NaN whose payload sits in the dropped half only must not become inf
  BOOST_CHECK(std::isnan(kernels::from_bf16(to_bf16(std::bit_cast<float>(0x7f800001u)))));
  BOOST_CHECK_EQUAL(kernels::from_bf16(0x3f80), 1.0f);
}

BOOST_AUTO_TEST_CASE(bf16_products_equal_a_double_product_of_the_rounded_values) {
  // Edges: k odd, n not a multiple of 16 or of 32 (a group pair and one alone), rows around the
  // 6- and 8-row tiles and the 16-row blocks.
  on_every_isa(
      {Case{1, 1, 1, false}, Case{5, 7, 17, false}, Case{7, 13, 40, true}, Case{32, 256, 64, false},
       Case{50, 33, 20, true}, Case{17, 100, 16, false}, Case{9, 64, 80, false},
       Case{130, 40, 48, false}},  // 130 rows: AMX's blocks of 64, then a partial one
      check_bf16_product);
}

// The error issue 21 states its bounds for: `cell` with I = H = 256 in `precision`, on
// unit-scale input of T = 100 steps (B = 16), as a share of max |y|.
double error_at_the_issue_size(models::Cell cell, models::Precision precision) {
  const double error =
      relative_error({.cell = cell, .input_size = 256, .hidden_size = 256}, 100, 16, precision);
  BOOST_TEST_MESSAGE(models::to_string(cell)
                     << " " << models::to_string(precision) << ", H = 256, T = 100: " << 100 * error
                     << "% of max |y|");
  return error;
}

BOOST_AUTO_TEST_CASE(bf16_models_stay_within_the_stated_error_of_float32) {
  // Issue 21 asks ≤ 8e-3 of max |y| for unit-scale input at H = 256, T = 100; measured 0.51% for
  // the LSTM by bench/compare.py (B = 32), a's rows rounded too (0.30% when only W was).
  for (models::Cell cell : kCells) BOOST_TEST_CONTEXT(models::to_string(cell)) {
      const double error = error_at_the_issue_size(cell, models::Precision::Bfloat16);
      BOOST_CHECK_LE(error, 8e-3);
      BOOST_CHECK_GT(error, 1e-5);  // the weights were rounded: not the float32 model run again
    }
}

BOOST_AUTO_TEST_CASE(int8_models_stay_within_the_stated_error_of_float32) {
  // docs/formats.md states the error on unit-scale input at H = 256, T = 100 (seed 5, B = 16):
  // with 8-bit weights (a CPU with VNNI or AMX) LSTM 1.63%, GRU 1.74% of max |y|, held to the 2%
  // issue 21 asked for; with the 7-bit weights of AVX2 1.96% and 2.39%, held to 3%. PyTorch's
  // onednn engine here: 3.3–4.5% for the LSTM. The plain RNN's y is its product through one
  // tanh, with no gate to average the rounding: the 8-bit steps of x_t's rows (max |x| about 3
  // of N(0, 1), a step of about 0.024) and the weights' and h's roundings leave its
  // pre-activation an error of standard deviation ≈ 0.005, whose largest over 400,000 outputs is
  // 2.46% (3.23% with 7-bit weights), held to 3% (4%).
  const bool eight_bits = kernels::int8_weight_levels(kernels::best_isa()) == 127;
  for (models::Cell cell : kCells) BOOST_TEST_CONTEXT(models::to_string(cell)) {
      const double limit = (eight_bits ? 2e-2 : 3e-2) + (cell == models::Cell::Rnn ? 1e-2 : 0);
      const double error = error_at_the_issue_size(cell, models::Precision::Int8);
      BOOST_CHECK_LE(error, limit);
      BOOST_CHECK_GT(error, 1e-4);  // bytes, not the float32 model run again
    }
}

BOOST_AUTO_TEST_CASE(every_weight_product_of_every_layer_and_direction_is_reduced) {
  // Each cell with two layers, both directions, an output layer (and the LSTM a projection): no
  // float32 product of a weight left in any step graph, none of the other precision's, and the
  // output close to float32's.
  for (models::Precision precision : {models::Precision::Int8, models::Precision::Bfloat16})
    for (models::Cell cell : kCells)
      BOOST_TEST_CONTEXT(models::to_string(cell) << " " << models::to_string(precision)) {
        const bool int8 = precision == models::Precision::Int8;
        const models::Config c = every_product(precision, cell);
        // at least x and h products of 2 layers × 2 directions
        BOOST_CHECK_GE(products_of(c, int8 ? matmul_int8_op() : matmul_bf16_op()), 4 * 2);
        BOOST_CHECK_EQUAL(products_of(c, int8 ? matmul_bf16_op() : matmul_int8_op()), 0);
        models::Config f32 = c;
        f32.precision = models::Precision::Float32;
        BOOST_CHECK_LE(relative_error(f32, 20, 3, precision), int8 ? 3e-2 : 8e-3);
      }
}

BOOST_AUTO_TEST_CASE(the_output_layer_runs_in_the_models_precision) {
  // The output layer is a graph of its own, after the step loop (not in the step graphs that
  // products_of looks at). Its y against hs · W_out + b_out in double, hs being the same model's
  // top layer without the output layer (the same seeds, so the same layer weights): a float32
  // product would match to float rounding; int8's and bf16's rounding of hs and W_out shows.
  const Tensor x = init::normal(0, 1, 8).tensor({6, 3, 12});
  for (models::Precision precision : {models::Precision::Int8, models::Precision::Bfloat16}) {
    BOOST_TEST_CONTEXT(models::to_string(precision)) {
      const models::Config c = every_product(precision);
      models::Config no_output = c;
      no_output.output_size = 0;
      models::Model model(c), top(no_output);
      for (const auto& [name, w] : top.weights())
        rnngraph::testing::check_close(model.weights().at(name), w, 0.0f);
      const Tensor y = model.run({{"x", x}})["y"].clone();
      const Tensor hs = top.run({{"x", x}})["y"].clone();
      const Tensor& w = model.weights().at("W_out");
      const Tensor& b = model.weights().at("b_out");
      const int64_t rows = hs.shape()[0] * hs.shape()[1], width = hs.shape()[2],
                    outputs = w.shape()[1];
      double worst = 0, top_y = 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < outputs; ++j) {
          double expected = b.data()[j];
          for (int64_t k = 0; k < width; ++k)
            expected += double(hs.data()[r * width + k]) * w.data()[k * outputs + j];
          top_y = std::max(top_y, std::fabs(expected));
          const double d = std::fabs(double(y.data()[r * outputs + j]) - expected);
          worst = std::isfinite(d) ? std::max(worst, d) : INFINITY;
        }
      BOOST_TEST_MESSAGE("output layer: " << 100 * worst / top_y << "% of max |y|");
      BOOST_CHECK_GT(worst / top_y, 1e-4);  // float32's would be about 1e-7
      BOOST_CHECK_LE(worst / top_y, 3e-2);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_trained_character_model_keeps_its_held_out_loss) {
  // Issue 21: a trained text model's validation loss within 1% after quantization. A character
  // LSTM (H = 32) trained by the CLI on generated text, scored on text it never saw, in float32,
  // int8 and bf16.
  const std::filesystem::path dir = rnngraph::testing::scratch_dir("quantize");
  std::mt19937 rng(1);
  const std::vector<std::string> words{"the ",  "quick ", "brown ", "fox ",  "jumps ", "over ",
                                       "lazy ", "dog ",   "and ",   "runs ", "far ",   "away. "};
  auto text = [&](int count) {
    std::string s;
    for (int i = 0; i < count; ++i) s += words[rng() % words.size()];
    return s;
  };
  {
    std::ofstream train((dir / "corpus.txt").string());
    train << text(3000);
  }
  using rnngraph::testing::run_cli;
  auto r = run_cli(dir,
                   "train --task text --text corpus.txt --model lstm --hidden-size 32 --steps 32 "
                   "--batch 16 --iterations 80 --save chars.json");
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  for (const char* dtype : {"int8", "bf16"}) {
    r = run_cli(dir, fmt::format("quantize chars.json --dtype {0} -o chars_{0}.json", dtype));
    BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  }
  models::Model f32 = models::Model::load(dir / "chars.json");
  models::Model int8 = models::Model::load(dir / "chars_int8.json");
  models::Model bf16 = models::Model::load(dir / "chars_bf16.json");
  BOOST_REQUIRE(int8.config().precision == models::Precision::Int8);
  BOOST_REQUIRE(bf16.config().precision == models::Precision::Bfloat16);
  const std::string& vocabulary = f32.config().vocabulary;
  const std::string held = text(400);
  const int64_t T = 64, B = int64_t(held.size() - 1) / T;
  Tensor tokens({T, B});
  std::vector<int64_t> next(std::size_t(T * B));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      tokens.data()[t * B + b] = float(vocabulary.find(held[std::size_t(b * T + t)]));
      next[std::size_t(t * B + b)] = int64_t(vocabulary.find(held[std::size_t(b * T + t + 1)]));
    }
  auto loss = [&](models::Model& m) {  // mean softmax cross-entropy of the next character
    const Tensor y = m.run({{"tokens", tokens}})["y"];
    const int64_t V = y.shape()[2];
    double total = 0;
    for (int64_t i = 0; i < T * B; ++i) {
      const float* row = y.data() + i * V;
      double top = row[0], sum = 0;
      for (int64_t v = 1; v < V; ++v) top = std::max(top, double(row[v]));
      for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - top);
      total += top + std::log(sum) - row[next[std::size_t(i)]];
    }
    return total / double(T * B);
  };
  const double reference = loss(f32), in_int8 = loss(int8), in_bf16 = loss(bf16);
  BOOST_TEST_MESSAGE("held-out loss: float32 " << reference << ", int8 " << in_int8 << ", bf16 "
                                               << in_bf16);
  BOOST_CHECK_LT(reference, std::log(double(vocabulary.size())));  // it learned something
  BOOST_CHECK_LE(std::fabs(in_int8 - reference), 0.01 * reference);
  BOOST_CHECK_LE(std::fabs(in_bf16 - reference), 0.01 * reference);
  BOOST_CHECK_NE(in_int8, reference);  // each ran in its precision, not float32 again
  BOOST_CHECK_NE(in_bf16, reference);
}

BOOST_AUTO_TEST_CASE(quantized_files_store_int8_bytes_and_bf16_values) {
  // A 2-layer bidirectional LSTM with an output layer: every product weight is stored as int8
  // with a scale per column, or as bf16 (a quarter, or half, of its float32 bytes), the biases
  // as float32. Loaded, the bf16 model computes what the model rounded at load does (rounding
  // a bf16 value again changes nothing), the int8 one stays within the stated error.
  const std::filesystem::path dir = rnngraph::testing::scratch_dir("quantize");
  const models::Config c{.cell = models::Cell::Lstm,
                         .input_size = 16,
                         .hidden_size = 32,
                         .layers = 2,
                         .output_size = 5,
                         .bidirectional = true};
  const Tensor x = init::normal(0, 1, 5).tensor({20, 3, 16});
  models::Model f32(c);
  f32.save(dir / "f32.json");
  const Tensor expected = f32.run({{"x", x}})["y"].clone();
  for (const auto& [precision, dtype, ratio] : {std::tuple{models::Precision::Int8, "I8", 4.0},
                                                {models::Precision::Bfloat16, "BF16", 2.0}}) {
    BOOST_TEST_CONTEXT(dtype) {
      models::Config q = c;
      q.precision = precision;
      models::Model in_memory(q);  // the same seed: the same weights, reduced at load
      const std::string name = std::string("q_") + dtype;
      in_memory.save(dir / (name + ".json"));
      // the header: which tensor is stored how
      std::ifstream in((dir / (name + ".safetensors")).string(), std::ios::binary);
      uint64_t length = 0;
      in.read(reinterpret_cast<char*>(&length), 8);
      std::string header(length, ' ');
      in.read(header.data(), std::streamsize(length));
      const auto json = nlohmann::json::parse(header);
      int reduced = 0, scales = 0;
      uint64_t weight_bytes = 0, f32_bytes = 0;
      for (const auto& [tensor, info] : json.items()) {
        if (tensor == "__metadata__") continue;
        const bool matrix = info["shape"].size() == 2 && info["shape"][0] > 1;
        BOOST_CHECK_MESSAGE(info["dtype"] == (matrix ? dtype : "F32"), tensor << " " << info);
        reduced += info["dtype"] == dtype;
        scales += tensor.ends_with(".scale");
        if (matrix) {
          weight_bytes +=
              info["data_offsets"][1].get<uint64_t>() - info["data_offsets"][0].get<uint64_t>();
          f32_bytes += 4 * info["shape"][0].get<uint64_t>() * info["shape"][1].get<uint64_t>();
        }
      }
      BOOST_CHECK_EQUAL(reduced,
                        4 * 2 * 2 + 1);  // W_f, W_i, W_o, W_c per layer and direction, W_out
      BOOST_CHECK_EQUAL(scales, precision == models::Precision::Int8 ? reduced : 0);
      BOOST_CHECK_CLOSE(double(f32_bytes) / double(weight_bytes), ratio, 1e-9);
      models::Model loaded = models::Model::load(dir / (name + ".json"));
      BOOST_REQUIRE(loaded.config().precision == precision);
      const Tensor got = loaded.run({{"x", x}})["y"].clone();
      if (precision == models::Precision::Bfloat16)
        rnngraph::testing::check_close(got, in_memory.run({{"x", x}})["y"], 0.0f);
      double worst = 0, top = 0;
      for (int64_t i = 0; i < got.numel(); ++i) {
        top = std::max(top, double(std::fabs(expected.data()[i])));
        worst = std::max(worst, std::fabs(double(got.data()[i]) - expected.data()[i]));
      }
      BOOST_TEST_MESSAGE(dtype << " file: " << 100 * worst / top << "% of max |y|");
      BOOST_CHECK_LE(worst / top, precision == models::Precision::Int8 ? 3e-2 : 8e-3);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_recipe_names_the_precision) {
  models::Config c{.cell = models::Cell::Gru, .input_size = 2, .hidden_size = 3};
  BOOST_CHECK(!models::recipe(c).contains("precision"));  // float32 files stay as they were
  c.precision = models::Precision::Int8;
  models::Recipe r = models::recipe(c);
  BOOST_CHECK_EQUAL(r.at("precision"), "int8");
  BOOST_CHECK(models::config_from_recipe(r, {}).precision == models::Precision::Int8);
  c.precision = models::Precision::Bfloat16;
  BOOST_CHECK(models::config_from_recipe(models::recipe(c), {}).precision ==
              models::Precision::Bfloat16);
  r["precision"] = "int4";
  BOOST_CHECK_THROW(models::config_from_recipe(r, {}), FormatError);
}

BOOST_AUTO_TEST_CASE(int8_graphs_have_no_gradient) {
  Graph g;
  const Value x = g.input("x", {2, 3});
  const Value w = g.parameter("w", {3, 4}, init::normal(0, 1, 1));
  g.output("loss", sum(matmul_int8(x, w, quantize_columns(w))));
  g.output("loss_bf16", sum(matmul_bf16(x, w, pack_bf16(w))));
  const std::vector<std::string> wrt{"w"};
  BOOST_CHECK_THROW(passes::training_graph(g, "loss", wrt, false), GraphError);
  BOOST_CHECK_THROW(passes::training_graph(g, "loss_bf16", wrt, false), GraphError);
}

BOOST_AUTO_TEST_SUITE_END()
