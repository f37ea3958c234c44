// Graph passes: Graph → Graph rewrites that keep every output equal (within float rounding) and
// make the graph cheaper to run. Each takes a graph and returns a new one, or nullptr when it
// finds nothing to change (the graph is then already as the pass leaves it: a copy of a 100,000
// node graph costs more than most passes' analysis); parameters are shared with the source, so
// optimizers and weight loading see through to the optimized graph. optimize() always returns
// a graph.
//
//   eliminate_dead_nodes          drops what no output needs (inputs and parameters stay)
//   merge_common_subexpressions   one node for identical ops on identical inputs
//   split_concat_matmuls          concat([h, x]) · W  →  h · W[:H] + x · W[H:]
//   hoist_input_projections       x[t] · W for every t  →  one [T·B, I] · W product, then x[t]'s
//                                 rows of it (a view)
//   merge_gate_products           h · W_f, h · W_i, ... →  one h · [W_f W_i ...] product, sliced
//   fuse_cells                    an LSTM step's thirteen pointwise nodes → one [B, 4H] product
//                                 and two fused loops (lstm_cell, lstm_hidden); a GRU step →
//                                 an x and an h product into [B, 3H] and one loop (gru_cell)
//   merge_weight_gradients        Σ_t a_tᵀ · g_t  →  [a_1; …; a_T]ᵀ · [g_1; …; g_T], one product
//   pack_recurrent_weights        h · W_h at every step  →  W_h packed once, matmul_packed
//
// Not part of optimize(), for the backward graph training_graph() makes (after grad()):
//   fuse_cell_gradients           an LSTM step's dA_cell + dA_hidden  →  one lstm_gates_grad
//
// Not part of optimize(), for int8 and bf16 models after it:
//   quantize_products             a · W for a static W  →  W quantized (rounded) once,
//                                 matmul_int8 (matmul_bf16)
//
// optimize() runs them in the order that lets each find the patterns the previous one made.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <rnngraph/framework/graph.h>
#include <rnngraph/framework/rewrite.h>

namespace rnngraph::passes {

std::unique_ptr<Graph> eliminate_dead_nodes(const Graph& g);
std::unique_ptr<Graph> merge_common_subexpressions(const Graph& g);
std::unique_ptr<Graph> split_concat_matmuls(const Graph& g);
std::unique_ptr<Graph> hoist_input_projections(const Graph& g);
std::unique_ptr<Graph> merge_gate_products(const Graph& g);
std::unique_ptr<Graph> fuse_cells(const Graph& g);
std::unique_ptr<Graph> fuse_cell_gradients(const Graph& g);
std::unique_ptr<Graph> merge_weight_gradients(const Graph& g);
std::unique_ptr<Graph> pack_recurrent_weights(const Graph& g);
// The precision the products of a model's weights run in (models::Precision is this type).
enum class Precision { Float32, Int8, Bfloat16 };
std::unique_ptr<Graph> quantize_products(const Graph& g, Precision precision);

// A pass's result: `rewriter` applied to g, or nullptr when its analysis (done when it was
// made) says it changes nothing.
template <class Pass>
std::unique_ptr<Graph> run_pass(const Graph& g, Pass& rewriter) {
  return rewriter.idle() ? nullptr : rewrite(g, rewriter);
}

// All of them, in order (merge_weight_gradients only finds work in a graph with gradients).
std::unique_ptr<Graph> optimize(const Graph& g);
// optimize(), then quantize_products: what a model of that precision runs. Always returns a
// graph.
std::unique_ptr<Graph> optimize_in(const Graph& g, Precision precision);

// The forward graph optimized (or, with `optimized` false, copied), then differentiated: grad()
// of its output `loss` with respect to the nodes named in `wrt` (parameters, inputs), appended
// as outputs "grad/<name>". Gradients taken after the passes use the fused cells' fused vjps;
// taken before, the passes would find the cells' nodes read by the backward graph and leave
// them unfused. Plan the result without options.optimize: it is optimized already.
std::unique_ptr<Graph> training_graph(const Graph& forward, std::string_view loss,
                                      std::span<const std::string> wrt, bool optimized = true);

// For the passes: nodes whose value depends on no input (parameters, constants, and ops on
// them only), so it is the same at every step and can be computed wherever convenient.
std::vector<char> static_nodes(const Graph& g);
// For the passes: a matmul without transposes, a · b.
bool is_plain_matmul(const Node& n);
// For the passes: how many inputs read each node, outputs counting twice, so a value read once
// (a candidate for fusing away) is never an output.
std::vector<int> use_counts(const Graph& g);
// For the passes: the sums grad() builds as gradients arrive, trees of adds of same-shaped
// values whose inner adds are each read once, by the add above them.
class SumTrees {
 public:
  explicit SumTrees(const Graph& g);
  // The terms of the sum whose top add is `root`, or nothing when `root` is not an add of
  // same-shaped values or is itself inside a larger sum.
  std::vector<int> terms(int root) const;
  // How many inputs read the node (use_counts).
  int uses(int id) const { return uses_[std::size_t(id)]; }

 private:
  bool is_sum(int id) const;
  const Graph& g_;
  std::vector<int> uses_;
  std::vector<int> reader_;  // the last node that reads each one (the only one if read once)
};

}  // namespace rnngraph::passes
