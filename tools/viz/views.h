// Internal: the three views, each turning a Graph into a Diagram.
#pragma once

#include <mutex>

#include "diagram.h"
#include "diagram_model.h"

namespace rnngraph::viz::detail {

// The view options.view names (Auto resolved), with options.grad's backward graph.
Diagram draw(const Graph& g, const Options& options);
Diagram block_view(const Graph& g, const Options& options);
Diagram unrolled_view(const Graph& g, const Options& options);
Diagram rolled_view(const Graph& g, const Options& options);
Diagram cell_view(const Graph& g, const Options& options);

// A diagram with a grid, placed: each block laid out alone, the blocks set in the grid's
// columns and rows, and the positions written for the nop2 engine (placement.cpp).
Diagram place(Diagram d);

// libgvc keeps global state: one layout at a time, in the process's one context.
std::mutex& graphviz_mutex();
struct GVC_s* context();

}  // namespace rnngraph::viz::detail
