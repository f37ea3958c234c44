// Internal: the three views, each turning a Graph into a Diagram.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

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
// Graphviz, under that lock: reads `dot`, lays it out with the engine the text names
// (layout=nop2 for a placed diagram, else dot) and calls use(context, graph) on the layout.
// Error with Graphviz's messages when the text cannot be read; when the layout or `use` fails
// (`failure`, the messages, then `hint`); and when Graphviz reported an error yet returned a
// layout.
void with_layout(const std::string& dot, std::string_view failure, std::string_view hint,
                 const std::function<bool(struct GVC_s*, struct Agraph_s*)>& use);

}  // namespace rnngraph::viz::detail
