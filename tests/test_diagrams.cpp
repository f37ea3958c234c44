// Diagrams: DOT structure (a cluster per step shown, each parameter once, a shape on every edge,
// folding), output that Graphviz and an XML parser accept, PNG/PDF magic bytes, determinism.
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <rnngraph/tools/viz/diagram.h>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;

namespace {
std::unique_ptr<Graph> model(models::Cell cell, int64_t steps, int64_t layers = 1) {
  auto g = std::make_unique<Graph>();
  models::build(
      *g, {.cell = cell, .input_size = 2, .hidden_size = 3, .steps = steps, .layers = layers});
  return g;
}

int count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return int(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
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

BOOST_AUTO_TEST_CASE(unrolled_has_a_cluster_per_step_and_each_parameter_once) {
  for (models::Cell cell : {models::Cell::Rnn, models::Cell::Lstm, models::Cell::Gru}) {
    const auto g = model(cell, 3);
    const std::string dot = viz::to_dot(*g);
    BOOST_TEST_CONTEXT(models::to_string(cell)) {
      BOOST_CHECK_EQUAL(count(dot, "subgraph cluster_step[0-9]+ \\{"), 3);
      for (int id : g->parameters()) {  // declared exactly once, whatever number of steps it feeds
        const std::string decl = fmt::format("\n  +n{} \\[", id);
        BOOST_CHECK_EQUAL(count(dot, decl), 1);
        BOOST_CHECK_EQUAL(count(dot, fmt::format("n{} -> ", id)), 3);  // wired into every step
      }
      for (const std::string& line : edge_lines(dot))
        BOOST_CHECK_MESSAGE(
            std::regex_search(line, std::regex("label=\" (\\[[0-9, ]+\\]|…|t → t\\+1)\"")), line);
      BOOST_CHECK(dot.find("cluster_legend") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(stacked_layers_get_sub_clusters) {
  const std::string dot = viz::to_dot(*model(models::Cell::Lstm, 2, 2));
  BOOST_CHECK_EQUAL(count(dot, "subgraph cluster_step[0-9]+_layer[0-9]+ \\{"), 4);
}

BOOST_AUTO_TEST_CASE(long_sequences_fold) {
  const auto g = model(models::Cell::Lstm, 1000);
  viz::Options options;
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
  BOOST_CHECK(lstm.find("<b>f</b>: W_f_l0, b_f_l0") != std::string::npos);
  BOOST_CHECK(lstm.find("c<sub>t-1</sub>") != std::string::npos);
  BOOST_CHECK(lstm.find("h<sub>t</sub>") != std::string::npos);
  const std::string gru = viz::to_dot(*model(models::Cell::Gru, 2), {.view = viz::View::Cell});
  BOOST_CHECK_EQUAL(count(gru, "fillcolor=\"#f9d56e\""), 4 + 1);  // r, z, and n's two products
  BOOST_CHECK(gru.find("1&#8722;") != std::string::npos);         // 1 - z
}

BOOST_AUTO_TEST_CASE(graphviz_accepts_every_view_and_format) {
  const auto g = model(models::Cell::Gru, 3, 2);
  for (viz::View view : {viz::View::Unrolled, viz::View::Rolled, viz::View::Cell}) {
    const std::string dot = viz::to_dot(*g, {.view = view, .title = "a <title> & more"});
    // Graphviz's own dot program reads it.
    const fs::path file = scratch(fmt::format("{}.dot", viz::to_string(view)));
    viz::write_diagram(*g, {.view = view}, file);
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
  for (viz::View view : {viz::View::Unrolled, viz::View::Rolled, viz::View::Cell}) {
    const std::string a = viz::to_dot(*model(models::Cell::Lstm, 5, 2), {.view = view});
    const std::string b = viz::to_dot(*model(models::Cell::Lstm, 5, 2), {.view = view});
    BOOST_CHECK(a == b);
  }
}

BOOST_AUTO_TEST_CASE(bad_requests_are_errors) {
  const auto g = model(models::Cell::Rnn, 2);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.grad = true}), GraphError);
  BOOST_CHECK_THROW(viz::to_dot(*g, {.steps_shown = 1}), GraphError);
  BOOST_CHECK_THROW(viz::view_from_string("sideways"), Error);
  BOOST_CHECK_THROW(viz::render("digraph {", "svg"), Error);
  BOOST_CHECK_THROW(viz::render("digraph { a -> b }", "nosuchformat"), Error);
  BOOST_CHECK_THROW(viz::write_diagram(*g, {}, scratch("x.gif")), Error);
  BOOST_CHECK(!fs::exists(scratch("x.gif")));
}

BOOST_AUTO_TEST_SUITE_END()
