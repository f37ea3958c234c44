// Internal to the diagram code: a small picture model (nodes with roles, clusters, edges), what
// the views build from a Graph, and the one place that prints it as DOT.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <rnngraph/framework/graph.h>

namespace rnngraph::viz::detail {

inline constexpr const char* kGradientColor = "#cc0000";  // the backward graph's edges

// What a box stands for; each role has one style, and the legend lists the roles drawn.
enum class Role {
  Input,
  Parameter,
  Op,
  Output,
  Gradient,
  Constant,
  Fold,
  Junction,
  Layer,
  Pointwise,
  Block,  // one cell at one step (the block view)
  Note    // free text, such as the shared weights
};

struct DNode {
  std::string id;
  std::string label;  // HTML-like label body
  Role role = Role::Op;
  std::string cluster;     // scope path such as "step3/layer0"; "" at top level
  std::string fill;        // overrides the role's fill (ops use their op's colour)
  std::string group;       // Graphviz group: nodes of one group are kept in line
  std::string tooltip;     // plain text shown on hover in SVG (full name, op, shape, attributes)
  bool invisible = false;  // only orders other nodes (a gate between two steps)
  std::string pos;         // placed diagrams: the centre, "x,y" in points
};

struct DEdge {
  std::string from, to, label;
  bool recurrent = false;  // carries state from one step to the next: drawn bold
  bool invisible = false;  // only orders nodes
  bool gradient = false;   // part of the backward graph: drawn in the gradient colour
  // Declared head → tail with dir=back: drawn pointing back in time (a gradient flowing from
  // step t+1 to step t) while ranking like a forward edge, so the steps keep their order.
  bool reversed = false;
  bool ranked = true;   // false: the edge does not pull its ends into ranks (constraint=false)
  bool xlabel = false;  // the label beside the edge, for edges within a rank or unranked
  std::string id;       // the SVG element's id, for tests that read the layout
  // Placed diagrams: the spline ("e,x,y x,y x,y ...", Graphviz's pos) and the label's centre.
  std::string pos, label_pos;
};

// Where a placed diagram puts a block: a cluster (its path of one or two segments: "step3",
// "step3/layer1") or a node outside the clusters, by id. Columns run left to right, rows bottom
// to top; each block is laid out by Graphviz on its own, then the blocks are set in the grid.
struct GridCell {
  int column = 0;
  int row = 0;
};
// The block of a cluster path: its first two segments ("step3/layer1/reverse" → "step3/layer1").
std::string block_of(const std::string& cluster);

struct Diagram {
  std::string rankdir = "TB";
  std::string ranksep = "0.4";
  std::string title;
  std::vector<DNode> nodes;
  std::vector<DEdge> edges;
  std::vector<std::vector<std::string>> same_rank;    // node ids laid on one rank, in this order
  std::map<std::string, std::string> cluster_labels;  // scope path → label (default: derived)
  std::set<std::string> gradient_clusters;            // scope paths drawn in the gradient colour
  // Nodes on the diagram's first and last ranks, where it has them: panels drawn one above the
  // other are chained through them.
  std::string top_node, bottom_node;
  // Not empty: the diagram is placed (see place) rather than laid out by dot as a whole, whose
  // layers drift into a staircase when the steps are clusters of many ranks.
  std::map<std::string, GridCell> grid;
  // Set by place: the layout engine that reads the positions ("nop2"), the clusters' and the
  // drawing's bounding boxes ("x0,y0,x1,y1"); no legend cluster printed (place draws its own).
  std::string layout, bb;
  std::map<std::string, std::string> cluster_bb;
  bool legend = true;

  DNode& add(DNode node) { return nodes.emplace_back(std::move(node)); }
  void connect(DEdge edge) { edges.push_back(std::move(edge)); }
};

std::string print_dot(const Diagram& diagram);
std::string cluster_id(const std::string& path);  // "step3/layer1" → "cluster_step3_layer1"
// The samples the legend shows, one node per role drawn, with their cluster set to `cluster`.
std::vector<DNode> legend_samples(const Diagram& diagram, const std::string& cluster);

// ---- reading a model graph ------------------------------------------------------------------

struct Steps {
  // The step of each node, -1 outside the steps: inputs, parameters, and ops on parameters only
  // (the weights that passes lay side by side), which are the same at every step.
  std::vector<int> of;
  int count = 0;
  // Each step's nodes in graph order, and each node's index there (-1 outside the steps). The
  // models build every step alike, so the k-th node of one step mirrors the k-th of another.
  std::vector<std::vector<int>> members;
  std::vector<int> position;
  bool alike() const {
    for (const auto& m : members)
      if (m.size() != members.front().size()) return false;
    return true;
  }
};
// With `with_backward`, the backward nodes grad() placed at a step count as that step's too.
Steps find_steps(const Graph& g, bool with_backward = false);

// The recurrent state of step 0: for each node outside step 0 that step 0 reads as state (h0[k],
// c0[k], or a raw h0 input), the node of step 0 whose value takes its place at step 1. Read
// from the marks models::build records (Mark: initial states and states by layer, direction and
// slot); for a graph without marks, built by hand, found by comparing steps 0 and 1, which must
// then be built alike (empty for a single step).
std::map<int, int> find_recurrence(const Graph& g, const Steps& steps);
// The initial states the steps read: marked ones in either direction (a reverse direction reads
// its own at the last step), else, in a graph without marks, find_recurrence's.
std::set<int> initial_states(const Graph& g, const Steps& steps);
bool has_marks(const Graph& g);  // some node is marked (models::build made it, or its user)

// The hidden state h of every layer at every step, [layer][step] node ids: the states marked
// with slot 0 (what the cell hands up), a row per layer and direction in h_n's order (layer k's
// directions at 2k and 2k+1). GraphError for a graph without marked states.
std::vector<std::vector<int>> hidden_states(const Graph& g);

// For every node, the ids of the nodes that read it.
std::vector<std::vector<int>> consumers(const Graph& g);

bool is_input_select(const Graph& g, const Node& n);  // x[t], h0[k]: a window of a fed input
std::string node_id(int id);                          // "n12"
std::string escape(std::string_view text);            // for HTML-like labels
std::string tooltip(const Node& n);  // "step0/layer1/mul_12 · op mul · [1, 3] · attrs ..."

std::string op_label(const Node& n, std::string_view title);  // bold title, small node name
// How a node is drawn when a view knows nothing special about it: its kind's role (an op in its
// op's colour), the op's name (or the node's; a scalar constant shows its value) over the node's
// name, and its shape.
DNode plain_node(const Node& n);
std::string shape_line(const Shape& shape);  // the label's last line: the shape, small
// The state a node carries, by its mark ("h" for h0[k] and for h_t): the mark of the node, or of
// the input it is a window of; a hand-built graph's unmarked state input by its name.
std::string state_name(const Graph& g, const Node& n);
// What the step's cells are called: a marked state's label ("LSTM"), else "cell".
std::string cell_label(const Graph& g);

}  // namespace rnngraph::viz::detail
