// Diagrams: the DOT structure of each view (boxes per step and layer, folding, one entry per
// shared parameter, a shape on every edge), the SVG layout of the unrolled view (every recurrent
// edge within the two steps it joins), the backward graph, the gradient-flow norms against
// PyTorch (tests/fixtures/make_torch_gradflow.py), tooltips, Graphviz acceptance, determinism.
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <rnngraph/framework/passes/passes.h>
#include <rnngraph/tools/viz/diagram.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;

namespace {
std::unique_ptr<Graph> model(models::Cell cell, int64_t steps, int64_t layers = 1,
                             bool bidirectional = false) {
  auto g = std::make_unique<Graph>();
  models::build(*g, {.cell = cell,
                     .input_size = 2,
                     .hidden_size = 3,
                     .steps = steps,
                     .layers = layers,
                     .bidirectional = bidirectional});
  return g;
}

int count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return int(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

int occurrences(const std::string& text, const std::string& literal) {
  int n = 0;
  for (std::size_t at = text.find(literal); at != std::string::npos;
       at = text.find(literal, at + literal.size()))
    ++n;
  return n;
}

std::vector<std::string> edge_lines(const std::string& dot) {
  std::vector<std::string> lines;
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);)
    if (line.find(" -> ") != std::string::npos && line.find("style=invis") == std::string::npos)
      lines.push_back(line);
  return lines;
}

fs::path scratch(const std::string& name) {
  return rnngraph::testing::scratch_dir("diagrams") / name;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(diagrams)

BOOST_AUTO_TEST_CASE(block_view_is_the_chain_of_repeated_boxes) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru})
    for (int layers : {1, 2}) {
      const auto g = model(cell, 3, layers);
      const std::string dot = viz::to_dot(*g, {.view = viz::View::Blocks});
      BOOST_TEST_CONTEXT(models::to_string(cell) << " with " << layers << " layer(s)") {
        // One box per cell per step and layer (+ the legend's sample), labelled with the cell.
        BOOST_CHECK_EQUAL(count(dot, "fillcolor=\"#b7e1cd\""), 3 * layers + 1);
        std::string name(models::to_string(cell));
        for (char& c : name) c = char(std::toupper(uint8_t(c)));
        BOOST_CHECK_EQUAL(count(dot, "<b>" + name + "</b>"), 3 * layers);
        const int states = cell == models::Cell::Lstm ? 2 : 1;
        for (int k = 0; k < layers; ++k) {
          // The state carried box to box, left to right, once per state (h, and c).
          for (int t = 1; t < 3; ++t)
            BOOST_CHECK_EQUAL(count(dot, fmt::format("  b{0}_{1} -> b{0}_{2} \\[", k, t - 1, t)),
                              states);
          // The initial state enters the first box, the final state leaves the last.
          BOOST_CHECK_EQUAL(count(dot, fmt::format("  init{0} -> b{0}_0 \\[", k)), states);
          BOOST_CHECK_EQUAL(count(dot, fmt::format("  b{0}_2 -> final{0} \\[", k)), states);
          BOOST_CHECK_EQUAL(count(dot, fmt::format("\\{{ rank=same; init{} ;", k)), 0);
        }
        for (int t = 0; t < 3; ++t) {
          BOOST_CHECK_EQUAL(count(dot, fmt::format("  x{0} -> b0_{0} \\[label=\" \\[1, 2\\]\"", t)),
                            1);
          BOOST_CHECK_EQUAL(count(dot, fmt::format("  b{0}_{1} -> top{1} \\[label=\" \\[1, 3\\]\"",
                                                   layers - 1, t)),
                            1);
          if (layers == 2)
            BOOST_CHECK_EQUAL(count(dot, fmt::format("  b0_{0} -> b1_{0} \\[", t)), 1);
        }
        // Each shared weight named once, in the note, and wired to nothing.
        for (int id : g->parameters()) {
          const Node& p = g->node(id);
          BOOST_CHECK_EQUAL(occurrences(dot, fmt::format("{} {}", p.name, p.shape.str())), 1);
        }
        BOOST_CHECK_EQUAL(count(dot, "weights -> [^\\n]*label="), 0);
        // Shapes on every visible edge.
        for (const std::string& line : edge_lines(dot))
          BOOST_CHECK_MESSAGE(
              std::regex_search(line, std::regex("label=\" ([a-z_]+ )?\\[[0-9, ]+\\]\"")), line);
      }
    }
}

BOOST_AUTO_TEST_CASE(block_view_folds_long_sequences_and_is_the_default_for_models) {
  const auto g = model(models::Cell::Lstm, 1000, 2);
  const std::string dot = viz::to_dot(*g);  // the default view of a model graph
  BOOST_CHECK(dot == viz::to_dot(*g, {.view = viz::View::Blocks}));
  BOOST_CHECK_EQUAL(count(dot, "fillcolor=\"#b7e1cd\""), 2 * 4 + 1);  // steps 0, 1, 2 and 999
  for (const char* id : {"b0_0", "b0_2", "b0_999", "b1_999", "fold0", "fold1", "xfold", "topfold"})
    BOOST_CHECK_MESSAGE(dot.find(fmt::format("  {} [", id)) != std::string::npos, id);
  BOOST_CHECK(dot.find("b0_3 ") == std::string::npos);
  BOOST_CHECK_EQUAL(count(dot, "…  996 steps  …"), 2);
  // The state runs through the fold: last shown early box → fold → last box.
  BOOST_CHECK_EQUAL(count(dot, "  b0_2 -> fold0 \\["), 2);
  BOOST_CHECK_EQUAL(count(dot, "  fold1 -> b1_999 \\["), 2);
  // A hand-built recurrence under g.step(t), its state a plain input: blocks too, its
  // recurrence found by comparing steps, its boxes plain "cell"s. Marked as models::build marks
  // its graphs, its state and its cell are named.
  for (bool marked : {false, true}) {
    Graph hand;
    Value h = hand.input("h0", {1, 3});
    if (marked) hand.mark(h, {.kind = Mark::Kind::InitialState, .role = "h", .label = "RNN"});
    const Value W = hand.parameter("W", {5, 3}), x = hand.input("x", {2, 1, 2});
    std::vector<Value> hs;
    for (int64_t t = 0; t < 2; ++t) {
      auto at = hand.step(t);
      h = tanh(matmul(concat({h, x[t]}, 1), W));
      if (marked) hand.mark(h, {.kind = Mark::Kind::State, .role = "h", .label = "RNN"});
      hs.push_back(h);
    }
    hand.output("y", stack(hs));
    const std::string blocks = viz::to_dot(hand);
    BOOST_TEST_CONTEXT("marked " << marked) {
      BOOST_CHECK_EQUAL(count(blocks, marked ? "<b>RNN</b>" : "<b>cell</b>"), 2);
      BOOST_CHECK_EQUAL(count(blocks, "  init0 -> b0_0 \\[xlabel=\" h0? \\[1, 3\\]"), 1);
      BOOST_CHECK_EQUAL(count(blocks, marked ? "  b0_0 -> b0_1 \\[xlabel=\" h \\["
                                             : "  b0_0 -> b0_1 \\[xlabel=\" \\["),
                        1);
      BOOST_CHECK(blocks.find("<b>h0</b>") != std::string::npos);
    }
  }
  // A graph without time steps is drawn unrolled, and asking it for blocks is an error.
  Graph plain;
  const Value a = plain.input("a", {2, 2});
  plain.output("y", tanh(matmul(a, plain.parameter("W", {2, 2}))));
  BOOST_CHECK(viz::to_dot(plain) == viz::to_dot(plain, {.view = viz::View::Unrolled}));
  BOOST_CHECK_THROW(viz::to_dot(plain, {.view = viz::View::Blocks}), GraphError);
}

BOOST_AUTO_TEST_CASE(models_record_their_structure_and_the_views_read_it) {
  // models::build marks, per layer, direction and step, the state values, x_t and each weight's
  // role (Mark); rewrites and graph files keep the marks.
  Graph g;
  models::build(g, {.cell = models::Cell::Lstm,
                    .input_size = 2,
                    .hidden_size = 3,
                    .steps = 3,
                    .layers = 2,
                    .output_size = 2,
                    .bidirectional = true});
  auto tally = [](const Graph& graph) {
    std::map<std::string, int> n;
    for (const Node& node : graph.nodes())
      if (node.mark) ++n[fmt::format("{} {}", to_string(node.mark.kind), node.mark.role)];
    return n;
  };
  const std::map<std::string, int> marks = tally(g);
  BOOST_CHECK_EQUAL(marks.at("state h"), 3 * 2 * 2);  // T · L · D
  BOOST_CHECK_EQUAL(marks.at("state c"), 3 * 2 * 2);
  BOOST_CHECK_EQUAL(marks.at("initial_state h"), 1 + 2 * 2);  // h0 and its windows h0[k]
  BOOST_CHECK_EQUAL(marks.at("step_input x"), 3);
  BOOST_CHECK_EQUAL(marks.at("weight W_f"), 2 * 2);
  BOOST_CHECK_EQUAL(marks.at("output_layer W_out"), 1);
  for (const Node& n : g.nodes()) {
    if (n.mark.kind != Mark::Kind::State) continue;
    BOOST_CHECK_EQUAL(n.mark.slot, n.mark.role == "h" ? 0 : 1);
    BOOST_CHECK_EQUAL(n.mark.label, "LSTM");
    BOOST_CHECK(n.step >= 0 && n.layer >= 0);
  }
  BOOST_CHECK_EQUAL(g.find("W_f_l1").mark.label, "forget gate");
  int reverse_states = 0;
  for (const Node& n : g.nodes()) reverse_states += n.mark.kind == Mark::Kind::State && n.reverse;
  BOOST_CHECK_EQUAL(reverse_states, 3 * 2 * 2);
  BOOST_CHECK(tally(*copy(g)) == marks);
  const fs::path file = scratch("marked.json");
  io::save_graph(g, file);
  const io::GraphFile loaded = io::load_graph(file);
  BOOST_CHECK(tally(*loaded.graph) == marks);
  for (const Node& n : loaded.graph->nodes())
    BOOST_CHECK(n.mark == g.node(n.id).mark && n.reverse == g.node(n.id).reverse);
  // The passes fuse each step's cell; what stands for a state keeps its mark.
  BOOST_CHECK_EQUAL(tally(*passes::optimize(g)).at("state h"), 3 * 2 * 2);

  // The block view reads them: the states on the arrows, the output layer as a row of its own.
  const std::string dot = viz::to_dot(g);
  BOOST_CHECK_EQUAL(count(dot, "<b>output layer</b>"), 3);
  for (int t = 0; t < 3; ++t) {
    BOOST_CHECK_EQUAL(count(dot, fmt::format("  b1_{0} -> out{0} \\[label=\" h \\[1, 6\\]", t)), 1);
    BOOST_CHECK_EQUAL(count(dot, fmt::format("  out{0} -> top{0} \\[label=\" \\[1, 2\\]", t)), 1);
  }
  BOOST_CHECK(dot.find("<b>y<sub>0</sub></b>") != std::string::npos);
  // After the passes, x_t enters every box of layer 0 from below, as the hoisted input product
  // the steps read instead of x_t (before marks, the bottom row was named after h0).
  const std::string optimized = viz::to_dot(*passes::optimize(*model(models::Cell::Lstm, 3, 2)));
  for (int t = 0; t < 3; ++t)
    BOOST_CHECK_EQUAL(count(optimized, fmt::format("  x{0} -> b0_{0} \\[", t)), 1);
  BOOST_CHECK(optimized.find("<b>x<sub>0</sub></b>") != std::string::npos);
  // Marks, not names: the same model with its states renamed by a mark draws the new name.
  Graph renamed;
  models::build(renamed,
                {.cell = models::Cell::Rnn, .input_size = 2, .hidden_size = 3, .steps = 2});
  for (const Node& n : renamed.nodes())
    if (n.mark.kind == Mark::Kind::State || n.mark.kind == Mark::Kind::InitialState) {
      Mark m = n.mark;
      m.role = "s";
      m.label = "Elman";
      renamed.mark(Value(renamed, n.id), m);
    }
  const std::string elman = viz::to_dot(renamed);
  BOOST_CHECK_EQUAL(count(elman, "<b>Elman</b>"), 2);
  BOOST_CHECK_EQUAL(count(elman, "  b0_0 -> b0_1 \\[xlabel=\" s \\[1, 3\\]"), 1);
  BOOST_CHECK_EQUAL(count(elman, "  init0 -> b0_0 \\[xlabel=\" s \\[1, 3\\]"), 1);
}

BOOST_AUTO_TEST_CASE(block_view_shows_both_directions) {
  const std::string dot = viz::to_dot(*model(models::Cell::Lstm, 3, 2, true));
  BOOST_CHECK_EQUAL(count(dot, "<b>LSTM ⇄</b>"), 6);
  for (int k = 0; k < 2; ++k) {
    // Left to right as before; right to left drawn back (dir=back) between the same boxes.
    BOOST_CHECK_EQUAL(count(dot, fmt::format("  b{0}_0 -> b{0}_1 \\[xlabel=\" [hc] ", k)), 2);
    BOOST_CHECK_EQUAL(
        count(dot, fmt::format("  b{0}_0 -> b{0}_1 \\[xlabel=\" ← [hc] [^\\n]*dir=back", k)), 2);
    // The reverse direction's initial state enters the last box from the right, its final state
    // leaves the first box to the left.
    BOOST_CHECK_EQUAL(count(dot, fmt::format("  b{0}_2 -> init_reverse{0} \\[[^\\n]*dir=back", k)),
                      2);
    BOOST_CHECK_EQUAL(count(dot, fmt::format("  final_reverse{0} -> b{0}_0 \\[[^\\n]*dir=back", k)),
                      2);
  }
  BOOST_CHECK(viz::render(dot, "svg").find("right to left") != std::string::npos);
}

// The baseline (y) of the <text> element that holds the first `content` in `svg`.
double text_y(const std::string& svg, const std::string& content) {
  const std::size_t at = svg.find(content);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, content);
  const std::size_t open = svg.rfind("<text", at);
  std::smatch m;
  const std::regex y(R"re( y="(-?[0-9.]+)")re");
  BOOST_REQUIRE(std::regex_search(svg.begin() + std::ptrdiff_t(open),
                                  svg.begin() + std::ptrdiff_t(at), m, y));
  return std::stod(m[1]);
}

BOOST_AUTO_TEST_CASE(lines_under_underscores_keep_their_distance) {
  // Graphviz spaces lines by their font size, so an underscore (h_n, W_f_l0) touched the line
  // below at slide size: such a line gets a thin blank line beneath it, in the weights note
  // (10-point lines, <br align="left"/>) and in a node's label (<br/>).
  const std::string svg = viz::render(viz::to_dot(*model(models::Cell::Lstm, 3, 2, true)), "svg");
  const double note_gap = text_y(svg, "b_f_l0 [1, 3]") - text_y(svg, "W_f_l0 [5, 3]");
  BOOST_TEST_MESSAGE("note lines " << note_gap << " points apart");
  BOOST_CHECK_GE(note_gap, 13.0);  // 10 without the spacer (14 with it)
  const double label_gap =
      text_y(svg, "final state, right to left") - text_y(svg, "h_n[1], c_n[1]");
  BOOST_TEST_MESSAGE("final state's lines " << label_gap << " points apart");
  BOOST_CHECK_GE(label_gap, 11.0);  // 8.4 without the spacer
}

BOOST_AUTO_TEST_CASE(unrolled_has_a_cluster_per_step_and_each_parameter_once) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    const auto g = model(cell, 3);
    const std::string dot = viz::to_dot(*g, {.view = viz::View::Unrolled});
    BOOST_TEST_CONTEXT(models::to_string(cell)) {
      BOOST_CHECK_EQUAL(count(dot, "subgraph cluster_step[0-9]+ \\{"), 3);
      for (int id : g->parameters()) {
        // Declared once in the parameters box, wired to nothing there; each step that reads
        // it holds one small copy.
        BOOST_CHECK_EQUAL(count(dot, fmt::format("\n  +n{} \\[", id)), 1);
        BOOST_CHECK_EQUAL(count(dot, fmt::format("  n{} -> [^\\[]*\\[label", id)), 0);
        BOOST_CHECK_EQUAL(count(dot, fmt::format("\n  +ref{}_step[0-9] \\[", id)), 3);
      }
      for (const std::string& line : edge_lines(dot))
        BOOST_CHECK_MESSAGE(
            std::regex_search(line, std::regex("label=\" (\\[[0-9, ]+\\]|…|t → t\\+1)\"")), line);
      BOOST_CHECK(dot.find("cluster_legend") != std::string::npos);
    }
  }
}

namespace {
struct Span {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;  // SVG coordinates: y grows down
};
// The extent of an SVG element's geometry: the first points="..." or d="..." after `from` in
// `svg`.
Span span(const std::string& svg, std::size_t from) {
  static const std::regex geometry("(points|d)=\"([^\"]*)\"");
  std::smatch m;
  BOOST_REQUIRE(std::regex_search(svg.begin() + std::ptrdiff_t(from), svg.end(), m, geometry));
  static const std::regex pair("(-?[0-9.]+),(-?[0-9.]+)");
  Span out;
  const std::string text = m[2];
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pair); it != std::sregex_iterator();
       ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    out = {std::min(out.x0, x), std::max(out.x1, x), std::min(out.y0, y), std::max(out.y1, y)};
  }
  return out;
}
std::pair<double, double> x_span(const std::string& svg, std::size_t from) {
  const Span s = span(svg, from);
  return {s.x0, s.x1};
}
// Each cluster's extent by its name (the SVG title, "cluster_step0_layer1").
std::map<std::string, Span> cluster_spans(const std::string& svg) {
  std::map<std::string, Span> out;
  static const std::regex cluster("<title>(cluster_[^<]*)</title>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), cluster);
       it != std::sregex_iterator(); ++it)
    out[(*it)[1]] = span(svg, std::size_t(it->position() + it->length()));
  return out;
}
}  // namespace

// The unrolled view of a stacked model reads like the textbook's figure: the steps side by side
// in one row, each layer a row, the state handed straight to the next step. (Laid out by dot as
// one graph, the steps climbed a staircase 12000 px wide, and recurrent edges looped under it.)
BOOST_AUTO_TEST_CASE(unrolled_steps_in_a_row_layers_in_rows) {
  const auto g = model(models::Cell::Lstm, 6, 2);
  const std::string svg = viz::render(viz::to_dot(*g, {.view = viz::View::Unrolled}), "svg");
  const auto clusters = cluster_spans(svg);
  const std::vector<int> shown{0, 1, 2, 5};
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const std::string step = fmt::format("cluster_step{}", shown[i]);
    BOOST_REQUIRE(clusters.contains(step));
    const Span s = clusters.at(step), first = clusters.at("cluster_step0");
    BOOST_CHECK_CLOSE(s.y0, first.y0, 0.1);  // one row, every box alike
    BOOST_CHECK_CLOSE(s.y1, first.y1, 0.1);
    if (i > 0) BOOST_CHECK_LT(clusters.at(fmt::format("cluster_step{}", shown[i - 1])).x1, s.x0);
    // Layer 1 above layer 0, both inside the step.
    const Span l0 = clusters.at(step + "_layer0"), l1 = clusters.at(step + "_layer1");
    BOOST_CHECK_LT(l1.y1, l0.y0);
    BOOST_CHECK(l0.x0 >= s.x0 && l0.x1 <= s.x1 && l1.y0 >= s.y0 && l0.y1 <= s.y1);
  }
  // Every recurrent edge stays in its layer's row and is shorter than a step is wide.
  static const std::regex edge(
      "<g id=\"recurrent_([0-9]+)_([0-9]+)_[0-9]+_[0-9]+\" class=\"edge\">");
  int edges = 0;
  const double step_width = clusters.at("cluster_step0").x1 - clusters.at("cluster_step0").x0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), edge); it != std::sregex_iterator();
       ++it, ++edges) {
    const Span e = span(svg, std::size_t(it->position()));
    BOOST_CHECK_LT(e.x1 - e.x0, step_width);
    const Span l0 = clusters.at(fmt::format("cluster_step{}_layer0", (*it)[1].str())),
               l1 = clusters.at(fmt::format("cluster_step{}_layer1", (*it)[1].str()));
    const bool in_layer0 = e.y0 >= l0.y0 - 1 && e.y1 <= l0.y1 + 1,
               in_layer1 = e.y0 >= l1.y0 - 1 && e.y1 <= l1.y1 + 1;
    BOOST_CHECK_MESSAGE(in_layer0 || in_layer1, (*it)[0] << " leaves its layer's row");
  }
  BOOST_CHECK_EQUAL(edges, 2 * 2 * 2);  // h and c of two layers, steps 0 → 1 → 2
}

BOOST_AUTO_TEST_CASE(unrolled_recurrent_edges_stay_between_the_steps_they_join) {
  struct Case {
    models::Cell cell;
    int layers;
    bool grad;
  };
  for (const Case c : {Case{models::Cell::Rnn, 1, false}, Case{models::Cell::Lstm, 1, false},
                       Case{models::Cell::Gru, 1, false}, Case{models::Cell::Lstm, 2, false},
                       Case{models::Cell::Rnn, 1, true}}) {
    const auto g = model(c.cell, 4, c.layers);
    const std::string svg = viz::render(
        viz::to_dot(*g, {.view = viz::View::Unrolled, .steps_shown = 4, .grad = c.grad}), "svg");
    BOOST_TEST_CONTEXT(models::to_string(c.cell) << " L" << c.layers << (c.grad ? " grad" : "")) {
      std::map<int, std::pair<double, double>> step_span;
      static const std::regex cluster("<title>cluster_step([0-9]+)</title>");
      for (auto it = std::sregex_iterator(svg.begin(), svg.end(), cluster);
           it != std::sregex_iterator(); ++it)
        step_span[std::stoi((*it)[1])] = x_span(svg, std::size_t(it->position() + it->length()));
      BOOST_REQUIRE_EQUAL(step_span.size(), 4u);
      for (int t = 1; t < 4; ++t)  // left to right, apart
        BOOST_CHECK_LT(step_span[t - 1].second, step_span[t].first);
      // Recurrent edges are named recurrent_<tail step>_<head step>_<tail>_<head>.
      static const std::regex edge(
          "<g id=\"recurrent_([0-9]+)_([0-9]+)_[0-9]+_[0-9]+\" class=\"edge\">");
      int edges = 0;
      for (auto it = std::sregex_iterator(svg.begin(), svg.end(), edge);
           it != std::sregex_iterator(); ++it, ++edges) {
        const int a = std::stoi((*it)[1]), b = std::stoi((*it)[2]);
        BOOST_REQUIRE_EQUAL(std::abs(a - b), 1);
        const auto [lo, hi] = x_span(svg, std::size_t(it->position()));
        const double left = step_span[std::min(a, b)].first,
                     right = step_span[std::max(a, b)].second;
        BOOST_CHECK_MESSAGE(lo >= left - 1 && hi <= right + 1,
                            "edge " << (*it)[0] << " spans " << lo << ".." << hi
                                    << " outside steps " << left << ".." << right);
      }
      const int states = c.cell == models::Cell::Lstm ? 2 : 1;
      BOOST_CHECK_GE(edges, 3 * states * c.layers);  // every step to the next, every state
    }
  }
}

BOOST_AUTO_TEST_CASE(stacked_layers_get_sub_clusters) {
  const std::string dot =
      viz::to_dot(*model(models::Cell::Lstm, 2, 2), {.view = viz::View::Unrolled});
  BOOST_CHECK_EQUAL(count(dot, "subgraph cluster_step[0-9]+_layer[0-9]+ \\{"), 4);
}

BOOST_AUTO_TEST_CASE(long_sequences_fold) {
  const auto g = model(models::Cell::Lstm, 1000);
  viz::Options options;
  options.view = viz::View::Unrolled;
  options.steps_shown = 3;
  const std::string dot = viz::to_dot(*g, options);
  BOOST_CHECK_EQUAL(count(dot, "subgraph cluster_step[0-9]+ \\{"), 3);
  BOOST_CHECK(dot.find("cluster_step0 ") != std::string::npos);
  BOOST_CHECK(dot.find("cluster_step1 ") != std::string::npos);
  BOOST_CHECK(dot.find("cluster_step999 ") != std::string::npos);
  BOOST_CHECK(dot.find("997 steps") != std::string::npos);
  // The picture does not grow with T: 1000 steps draw like 10.
  const std::string dot10 = viz::to_dot(*model(models::Cell::Lstm, 10), options);
  BOOST_CHECK_LT(dot.size(), dot10.size() + 2000);
  const std::string png = viz::render(dot, "png");
  BOOST_CHECK(png.starts_with("\x89PNG\r\n\x1a\n"));
}

BOOST_AUTO_TEST_CASE(rolled_view_has_one_recurrent_edge_per_state) {
  BOOST_CHECK_EQUAL(
      count(viz::to_dot(*model(models::Cell::Rnn, 3), {.view = viz::View::Rolled}), "t → t\\+1"),
      1);
  BOOST_CHECK_EQUAL(
      count(viz::to_dot(*model(models::Cell::Lstm, 3), {.view = viz::View::Rolled}), "t → t\\+1"),
      2);
  BOOST_CHECK_EQUAL(
      count(viz::to_dot(*model(models::Cell::Lstm, 3, 2), {.view = viz::View::Rolled}),
            "t → t\\+1"),
      4);
}

BOOST_AUTO_TEST_CASE(cell_view_draws_gate_layers_like_colah) {
  const std::string lstm = viz::to_dot(*model(models::Cell::Lstm, 2), {.view = viz::View::Cell});
  BOOST_CHECK_EQUAL(count(lstm, "fillcolor=\"#f9d56e\""),
                    4 + 1);                            // f, i, o, c̃ (+ the legend's sample)
  BOOST_CHECK_EQUAL(count(lstm, "&#963;</font>"), 3);  // three sigmoid gates
  // Each layer named by its weight's role (the cell's role labels), not by parsing its name.
  BOOST_CHECK(lstm.find("<b>forget gate</b>: W_f_l0, b_f_l0") != std::string::npos);
  BOOST_CHECK(lstm.find("c<sub>t-1</sub>") != std::string::npos);
  BOOST_CHECK(lstm.find("h<sub>t</sub>") != std::string::npos);
  const std::string gru = viz::to_dot(*model(models::Cell::Gru, 2), {.view = viz::View::Cell});
  BOOST_CHECK_EQUAL(count(gru, "fillcolor=\"#f9d56e\""), 4 + 1);  // r, z, and n's two products
  BOOST_CHECK(gru.find("1&#8722;") != std::string::npos);         // 1 - z
}

BOOST_AUTO_TEST_CASE(graphviz_accepts_every_view_and_format) {
  // The backward graph of a 2-layer GRU takes Graphviz seconds: one layer shows the same.
  const auto layered = model(models::Cell::Gru, 3, 2), single = model(models::Cell::Gru, 3);
  struct Drawing {
    viz::View view;
    bool grad;
  };
  for (const Drawing drawing :
       {Drawing{viz::View::Blocks, false}, Drawing{viz::View::Unrolled, false},
        Drawing{viz::View::Rolled, false}, Drawing{viz::View::Cell, false},
        Drawing{viz::View::Unrolled, true}, Drawing{viz::View::Rolled, true}}) {
    const viz::View view = drawing.view;
    const Graph* g = drawing.grad ? single.get() : layered.get();
    const viz::Options options{.view = view, .grad = drawing.grad, .title = "a <title> & more"};
    const std::string dot = viz::to_dot(*g, options);
    // Graphviz's own dot program reads it.
    const fs::path file =
        scratch(fmt::format("{}{}.dot", viz::to_string(view), drawing.grad ? "_grad" : ""));
    viz::write_diagram(*g, options, file);
    const std::string command = fmt::format("dot -Tcanon '{}' > /dev/null 2>&1", file.string());
    BOOST_CHECK_EQUAL(std::system(command.c_str()), 0);
    // SVG is well-formed XML.
    std::istringstream svg(viz::render(dot, "svg"));
    boost::property_tree::ptree tree;
    BOOST_CHECK_NO_THROW(boost::property_tree::read_xml(svg, tree));
    BOOST_CHECK(tree.get_child_optional("svg"));
    BOOST_CHECK(viz::render(dot, "png").starts_with("\x89PNG\r\n\x1a\n"));
    BOOST_CHECK(viz::render(dot, "pdf").starts_with("%PDF-"));
  }
}

BOOST_AUTO_TEST_CASE(output_is_deterministic) {
  for (viz::View view :
       {viz::View::Blocks, viz::View::Unrolled, viz::View::Rolled, viz::View::Cell})
    for (bool grad : {false, true}) {
      if (grad && (view == viz::View::Blocks || view == viz::View::Cell)) continue;
      const std::string a =
          viz::to_dot(*model(models::Cell::Lstm, 5, 2), {.view = view, .grad = grad});
      const std::string b =
          viz::to_dot(*model(models::Cell::Lstm, 5, 2), {.view = view, .grad = grad});
      BOOST_CHECK(a == b);
    }
  const auto g = model(models::Cell::Gru, 6);
  const Feeds feeds{{"x", init::normal(0, 1, 3).tensor({6, 1, 2})}, {"h0", Tensor({1, 1, 3})}};
  const viz::GradientFlow f1 = viz::gradient_flow(*g, feeds), f2 = viz::gradient_flow(*g, feeds);
  BOOST_CHECK(viz::to_dot(*g, {.view = viz::View::Gradflow, .flow = &f1}) ==
              viz::to_dot(*g, {.view = viz::View::Gradflow, .flow = &f2}));
}

BOOST_AUTO_TEST_CASE(grad_draws_the_backward_graph_beside_each_step) {
  const auto g = model(models::Cell::Rnn, 3);
  const std::string dot = viz::to_dot(*g, {.view = viz::View::Unrolled, .grad = true});
  // A red box per step, after the step it mirrors.
  for (int t = 0; t < 3; ++t)
    BOOST_CHECK_EQUAL(count(dot, fmt::format("subgraph cluster_step{}_backward \\{{", t)), 1);
  BOOST_CHECK_GT(count(dot, "fillcolor=\"#f4cccc\""), 3 * 5);  // gradient ops
  // Gradient edges point back in time.
  BOOST_CHECK_GT(count(dot, "dir=back"), 3 * 5);
  BOOST_CHECK_EQUAL(count(dot, "dir=back[^\n]*color=\"#555555\""), 0);
  // The weight's gradient: a running sum passed from step to step ([5, 3] edges between the
  // backward boxes of neighbouring steps), ending in the output grad/W_l0 at step 0.
  BOOST_CHECK_GE(count(dot, "id=\"recurrent_[0-9_]+\""), 4);
  BOOST_CHECK_EQUAL(
      count(
          dot,
          "label=\" \\[5, 3\\]\", penwidth=1.8, color=\"#cc0000\"[^\\n]*dir=back, id=\"recurrent_"),
      2);
  BOOST_CHECK_EQUAL(count(dot, "<b>grad/W_l0 = add</b>"), 1);
  BOOST_CHECK_EQUAL(count(dot, "<b>grad/b_l0 = add</b>"), 1);
  // The rolled view: step t's backward part, fed by what step t+1 hands back.
  const std::string rolled = viz::to_dot(*g, {.view = viz::View::Rolled, .grad = true});
  BOOST_CHECK(rolled.find("backward of step t") != std::string::npos);
  BOOST_CHECK_GE(count(rolled, "from step t\\+1"), 2);  // ∂h_{t+1} and the sum of ∂W so far
  // Each backward op says whose derivative it is part of: tanh' = 1 - y² is a mul, a sub and a
  // mul made by tanh's vjp, the products by matmul's.
  BOOST_CHECK_EQUAL(count(rolled, "<b>sub</b>[^\n]*∂ of tanh_[0-9]+<"), 1);
  BOOST_CHECK_GE(count(rolled, "∂ of tanh_[0-9]+<"), 3);
  BOOST_CHECK_GE(count(rolled, "∂ of matmul_[0-9]+<"), 2);
  // Blocks and cells have no backward drawing.
  BOOST_CHECK_THROW(viz::to_dot(*g, {.view = viz::View::Blocks, .grad = true}), GraphError);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.view = viz::View::Cell, .grad = true}), GraphError);
}

BOOST_AUTO_TEST_CASE(gradient_flow_matches_pytorch_per_step) {
  namespace t = rnngraph::testing;
  struct Case {
    models::Cell cell;
    int64_t layers;
    const char* name;
  };
  for (const Case c : {Case{models::Cell::Rnn, 1, "torch_gradflow_rnn_L1"},
                       Case{models::Cell::Lstm, 1, "torch_gradflow_lstm_L1"},
                       Case{models::Cell::Lstm, 2, "torch_gradflow_lstm_L2"}}) {
    const models::Config config{.cell = c.cell,
                                .input_size = 3,
                                .hidden_size = 4,
                                .steps = 12,
                                .batch = 2,
                                .layers = c.layers};
    Graph g;
    models::build(g, config);
    models::load_torch_state(
        g, config, io::read_safetensors(t::fixture(std::string(c.name) + ".safetensors")));
    Feeds feeds;
    for (const char* input : {"x", "h0", "c0", "target"})
      if (input != std::string("c0") || c.cell == models::Cell::Lstm)
        feeds.emplace(input, io::read_npy(t::fixture(fmt::format("{}_{}.npy", c.name, input))));
    const io::TensorMap expected =
        io::read_safetensors(t::fixture(std::string(c.name) + "_norms.safetensors"));
    for (const char* loss : {"sum", "mse", "last"}) {
      BOOST_TEST_CONTEXT(c.name << ", loss " << loss) {
        const viz::GradientFlow flow = viz::gradient_flow(g, feeds, loss);
        const Tensor& norms = expected.at(loss);
        BOOST_REQUIRE_EQUAL(flow.norms.size(), std::size_t(c.layers));
        for (int64_t k = 0; k < c.layers; ++k) {
          BOOST_REQUIRE_EQUAL(flow.norms[std::size_t(k)].size(), 12u);
          for (int64_t s = 0; s < 12; ++s) {
            const double want = norms.values()[std::size_t(k * 12 + s)];
            BOOST_CHECK_CLOSE(flow.norms[std::size_t(k)][std::size_t(s)], want, 1e-2);  // percent
          }
        }
        BOOST_CHECK_CLOSE(flow.value, expected.at(std::string("loss_") + loss).values()[0], 1e-3);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gradient_flow_view_shades_each_box) {
  const auto g = model(models::Cell::Rnn, 30);
  const Feeds feeds{{"x", init::normal(0, 1, 9).tensor({30, 1, 2})}, {"h0", Tensor({1, 1, 3})}};
  const viz::GradientFlow flow = viz::gradient_flow(*g, feeds, "last");
  // The last output's gradient fades going back in time.
  BOOST_CHECK_LT(flow.norms[0][0], flow.norms[0][29]);
  const std::string dot =
      viz::to_dot(*g, {.view = viz::View::Gradflow, .steps_shown = 8, .flow = &flow});
  // Steps 0-3 and 26-29 are drawn, each with its norm, the 22 between folded with their range.
  BOOST_CHECK_EQUAL(count(dot, "‖∂L/∂h‖ = "), 8);
  BOOST_CHECK_EQUAL(occurrences(dot, fmt::format("‖∂L/∂h‖ = {:.1e}", flow.norms[0][29])), 1);
  BOOST_CHECK(dot.find("  b0_26 [") != std::string::npos &&
              dot.find("  b0_25 [") == std::string::npos);
  BOOST_CHECK(dot.find("22 steps") != std::string::npos);
  BOOST_CHECK(dot.find("colour_bar") != std::string::npos);
  // Shades on a log scale: the smallest norm palest, the largest darkest.
  std::set<std::string> fills;
  static const std::regex fill(
      "  b0_[0-9]+ \\[shape=box, style=\"[^\"]*\", fillcolor=\"(#[0-9a-f]{6})\"");
  for (auto it = std::sregex_iterator(dot.begin(), dot.end(), fill); it != std::sregex_iterator();
       ++it)
    fills.insert((*it)[1]);
  BOOST_CHECK_GE(fills.size(), 6u);
  BOOST_CHECK(
      dot.find("  b0_29 [shape=box, style=\"rounded,filled,bold\", fillcolor=\"#67000d\"") !=
      std::string::npos);
  // Norms for another model, or none, are errors.
  BOOST_CHECK_THROW(
      viz::to_dot(*model(models::Cell::Rnn, 31), {.view = viz::View::Gradflow, .flow = &flow}),
      GraphError);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.view = viz::View::Gradflow}), GraphError);
  BOOST_CHECK_THROW(viz::gradient_flow(*g, feeds, "max"), Error);
  BOOST_CHECK_THROW(viz::gradient_flow(*g, feeds, "mse"), GraphError);  // no target fed
  // Two panels side by side on one scale, one colour bar.
  const std::vector<viz::Panel> panels{
      {g.get(), {.view = viz::View::Gradflow, .title = "left", .flow = &flow}},
      {g.get(), {.view = viz::View::Gradflow, .title = "right", .flow = &flow, .flow_bar = false}}};
  const std::string both = viz::to_dot(panels, "two");
  BOOST_CHECK_EQUAL(count(both, "subgraph cluster_panel[01] \\{"), 2);
  BOOST_CHECK_EQUAL(count(both, "\n +p[01]_colour_bar \\["), 1);
  BOOST_CHECK(viz::render(both, "svg").find("right") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(svg_nodes_carry_tooltips) {
  const auto g = model(models::Cell::Lstm, 2);
  const std::string dot = viz::to_dot(*g, {.view = viz::View::Unrolled});
  BOOST_CHECK(dot.find("tooltip=\"step0/concat_") != std::string::npos);
  const std::string svg = viz::render(dot, "svg");
  // Full name, op, shape, attributes, step.
  BOOST_CHECK(
      std::regex_search(svg, std::regex("xlink:title=\"step1/concat_[0-9]+&#10;op: "
                                        "concat&#10;shape: \\[1, 5\\]&#10;axis = 1&#10;step 1\"")));
  BOOST_CHECK(std::regex_search(
      svg, std::regex("xlink:title=\"W_f_l0&#10;parameter&#10;shape: \\[5, 3\\]\"")));
  BOOST_CHECK(viz::render(viz::to_dot(*g), "svg").find("xlink:title=\"LSTM cell, step 1\"") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_requests_are_errors) {
  const auto g = model(models::Cell::Rnn, 2);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.view = viz::View::Cell, .grad = true}), GraphError);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.steps_shown = 1}), GraphError);
  BOOST_CHECK_THROW(viz::view_from_string("sideways"), Error);
  BOOST_CHECK_THROW(viz::render("digraph {", "svg"), Error);
  BOOST_CHECK_THROW(viz::render("digraph { a -> b }", "nosuchformat"), Error);
  BOOST_CHECK_THROW(viz::write_diagram(*g, {}, scratch("x.gif")), Error);
  BOOST_CHECK(!fs::exists(scratch("x.gif")));
}

BOOST_AUTO_TEST_SUITE_END()
