// A cell that is not built in, written with the graph API as a user would, and a plain-loop
// reference of a whole model of it (layers, directions, lengths) in double, written from the
// equations without the graph: the custom-cell and autodiff suites share both.
//
// The coupled input-forget gate LSTM (CIFG, Greff et al. 2017, "LSTM: A Search Space Odyssey"):
//   z = concat([h, x]);  f = σ(z·W_f + b_f);  c̃ = tanh(z·W_c + b_c);  o = σ(z·W_o + b_o)
//   c' = f * c + (1 - f) * c̃;  h' = o * tanh(c')
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include <rnngraph/rnngraph.h>

namespace rnngraph::testing {

inline models::CellDefinition cifg_definition(std::string name = "cifg") {
  using namespace models;
  return {.name = std::move(name),
          .label = "CIFG LSTM",
          .state =
              [](const CellSizes& s) {
                return std::vector<StateVariable>{{"h", s.hidden}, {"c", s.hidden}};
              },
          .parameters =
              [](const CellSizes& s) {
                const Shape on_hx{s.hidden + s.input, s.hidden}, bias{1, s.hidden};
                return std::vector<CellParameter>{{"W_f", on_hx}, {"W_c", on_hx}, {"W_o", on_hx},
                                                  {"b_f", bias},  {"b_c", bias},  {"b_o", bias}};
              },
          .step =
              [](const CellState& s, const Value& x, const CellWeights& w) {
                const Value z = concat({s[0], x}, 1);
                const Value f = sigmoid(matmul(z, w["W_f"]) + w["b_f"]);
                const Value c_tilde = tanh(matmul(z, w["W_c"]) + w["b_c"]);
                const Value o = sigmoid(matmul(z, w["W_o"]) + w["b_o"]);
                const Value c = f * s[1] + (1.0f - f) * c_tilde;
                return CellState{o * tanh(c), c};
              },
          .roles = {{"W_f", "coupled gate"}}};
}

// The cell as a value, not registered: what a program that defines it holds, and what the CLI,
// which does not, must read from a model file.
inline models::Cell cifg() {
  return models::Cell(std::make_shared<const models::CellDefinition>(cifg_definition()));
}

struct Reference {
  Tensor y, h_n, c_n;
};

// A model of the CIFG cell (models::Config's semantics: layers, directions, lengths), computed
// sample by sample in double from its weights.
inline Reference cifg_reference(const models::Config& c, const io::TensorMap& w, const Tensor& x,
                                std::vector<int64_t> lengths) {
  const int64_t T = x.shape()[0], B = x.shape()[1], H = c.hidden_size, D = c.bidirectional ? 2 : 1;
  if (lengths.empty()) lengths.assign(std::size_t(B), T);
  Reference out{Tensor({T, B, D * H}), Tensor({c.layers * D, B, H}), Tensor({c.layers * D, B, H})};
  auto at = [](const Tensor& t, int64_t i, int64_t j) {
    return double(t.data()[i * t.shape()[1] + j]);
  };
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lengths[std::size_t(b)];
    std::vector<std::vector<double>> in(static_cast<std::size_t>(len));
    for (int64_t t = 0; t < len; ++t)
      for (int64_t i = 0; i < c.input_size; ++i)
        in[std::size_t(t)].push_back(x.data()[(t * B + b) * c.input_size + i]);
    for (int64_t k = 0; k < c.layers; ++k) {
      std::vector<std::vector<double>> next(static_cast<std::size_t>(len));
      for (int64_t d = 0; d < D; ++d) {
        const std::string l = fmt::format("_l{}{}", k, d ? "_reverse" : "");
        const Tensor &Wf = w.at("W_f" + l), &Wc = w.at("W_c" + l), &Wo = w.at("W_o" + l);
        const Tensor &bf = w.at("b_f" + l), &bc = w.at("b_c" + l), &bo = w.at("b_o" + l);
        std::vector<double> h(static_cast<std::size_t>(H)), cs(static_cast<std::size_t>(H));
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = d ? len - 1 - s : s;
          std::vector<double> z = h;
          z.insert(z.end(), in[std::size_t(t)].begin(), in[std::size_t(t)].end());
          std::vector<double> hn(static_cast<std::size_t>(H));
          for (int64_t j = 0; j < H; ++j) {
            double f = at(bf, 0, j), g = at(bc, 0, j), o = at(bo, 0, j);
            for (std::size_t r = 0; r < z.size(); ++r) {
              f += z[r] * at(Wf, int64_t(r), j);
              g += z[r] * at(Wc, int64_t(r), j);
              o += z[r] * at(Wo, int64_t(r), j);
            }
            f = 1 / (1 + std::exp(-f)), o = 1 / (1 + std::exp(-o)), g = std::tanh(g);
            cs[std::size_t(j)] = f * cs[std::size_t(j)] + (1 - f) * g;
            hn[std::size_t(j)] = o * std::tanh(cs[std::size_t(j)]);
          }
          h = hn;
          auto& row = next[std::size_t(t)];
          if (row.size() < std::size_t(D * H)) row.resize(std::size_t(D * H));
          std::copy(h.begin(), h.end(), row.begin() + d * H);
        }
        for (int64_t j = 0; j < H; ++j) {
          out.h_n.data()[((k * D + d) * B + b) * H + j] = float(h[std::size_t(j)]);
          out.c_n.data()[((k * D + d) * B + b) * H + j] = float(cs[std::size_t(j)]);
        }
      }
      in = next;
    }
    for (int64_t t = 0; t < len; ++t)
      for (int64_t j = 0; j < D * H; ++j)
        out.y.data()[(t * B + b) * D * H + j] = float(in[std::size_t(t)][std::size_t(j)]);
  }
  return out;
}

}  // namespace rnngraph::testing
