// Internal: the three views, each turning a Graph into a Diagram.
#pragma once

#include "diagram.h"
#include "diagram_model.h"

namespace rnngraph::viz::detail {

// The view options.view names (Auto resolved), with options.grad's backward graph.
Diagram draw(const Graph& g, const Options& options);
Diagram block_view(const Graph& g, const Options& options);
Diagram unrolled_view(const Graph& g, const Options& options);
Diagram rolled_view(const Graph& g, const Options& options);
Diagram cell_view(const Graph& g, const Options& options);

}  // namespace rnngraph::viz::detail
