// Reverse-mode autodiff as a graph transformation: grad() appends the backward graph to the
// graph that holds the loss, so gradients are ordinary nodes that one Plan runs together with
// the forward pass (keeping exactly the activations backward reads) and diagrams can draw.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph {

// The gradient of `loss` (a value with one element) with respect to each of `wrt` (parameters,
// inputs, or any other node of the same graph), in that order. Each is also declared as the graph
// output "grad/<node name>". Gradients that reach a node along several paths are summed (a
// parameter shared by every step gets the sum of its per-step gradients); a node the loss does
// not depend on gets zeros. Every backward node carries the step and layer of the forward node
// it mirrors and is marked `backward`. GraphError for a non-scalar loss, a value of another
// graph, or an op whose vjp breaks its contract.
std::vector<Value> grad(const Value& loss, std::span<const Value> wrt);

// The parameters of a graph as Values, in creation order: the usual `wrt`.
std::vector<Value> parameter_values(Graph& g);
// Their names, in the same order (what passes::training_graph takes as `wrt`).
std::vector<std::string> parameter_names(const Graph& g);

}  // namespace rnngraph
