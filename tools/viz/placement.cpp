// Placing a diagram on a grid: each block (a cluster of a step and a layer) is laid out by
// Graphviz's dot on its own, and the blocks are then set in columns (steps) and rows (layers)
// at positions we choose, drawn by the "nop2" engine, which keeps them. Laid out as one graph,
// dot ranks every op of every step and layer in one long sequence, and the steps drift into a
// staircase with recurrent edges looping under it; small graphs laid out alone do not.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <graphviz/gvc.h>

#include <rnngraph/framework/errors.h>

#include "views.h"

namespace rnngraph::viz::detail {

namespace {

struct Point {
  double x = 0, y = 0;
};
Point operator+(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }
Point operator-(Point a, Point b) { return {a.x - b.x, a.y - b.y}; }
Point operator*(double k, Point a) { return {k * a.x, k * a.y}; }

struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
  Box grown(double left, double bottom, double right, double top) const {
    return {x0 - left, y0 - bottom, x1 + right, y1 + top};
  }
  Box moved(Point by) const { return {x0 + by.x, y0 + by.y, x1 + by.x, y1 + by.y}; }
  Box joined(const Box& b) const {
    return {std::min(x0, b.x0), std::min(y0, b.y0), std::max(x1, b.x1), std::max(y1, b.y1)};
  }
  std::string str() const { return fmt::format("{:.1f},{:.1f},{:.1f},{:.1f}", x0, y0, x1, y1); }
};

// One piece of an edge's spline as Graphviz gives it: control points, and an arrowhead at the
// start or the end.
struct Bezier {
  std::vector<Point> points;
  std::optional<Point> start_arrow, end_arrow;
};
struct Route {
  std::vector<Bezier> pieces;
  std::optional<Point> label, xlabel;
};

std::string spline_text(const std::vector<Bezier>& pieces, Point by) {
  std::string out;
  for (const Bezier& b : pieces) {
    if (!out.empty()) out += ';';
    std::string piece;
    if (b.end_arrow)
      piece += fmt::format("e,{:.1f},{:.1f} ", b.end_arrow->x + by.x, b.end_arrow->y + by.y);
    if (b.start_arrow)
      piece += fmt::format("s,{:.1f},{:.1f} ", b.start_arrow->x + by.x, b.start_arrow->y + by.y);
    for (const Point& p : b.points) piece += fmt::format("{:.1f},{:.1f} ", p.x + by.x, p.y + by.y);
    piece.pop_back();
    out += piece;
  }
  return out;
}
std::string point_text(Point p) { return fmt::format("{:.1f},{:.1f}", p.x, p.y); }

// A block laid out on its own, in its own coordinates (points, y up).
struct Layout {
  Box bb;
  std::map<std::string, Point> centre, size;  // node id → centre; width, height
  std::map<std::size_t, Route> routes;        // index in the diagram's edges → its route
  std::map<std::string, Box> clusters;        // cluster path (the diagram's) → its box
};

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= path.size();) {
    const std::size_t slash = std::min(path.find('/', at), path.size());
    out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}
// The positions dot gave a block's nodes, edges (by the index in their "edgeN" id) and
// clusters (by `path_of_id`, Graphviz's name → our path).
void read_layout(Agraph_t* g, const std::map<std::string, std::string>& path_of_id, Layout& out) {
  auto point = [](pointf p) { return Point{p.x, p.y}; };
  out.bb = {GD_bb(g).LL.x, GD_bb(g).LL.y, GD_bb(g).UR.x, GD_bb(g).UR.y};
  for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
    out.centre[agnameof(n)] = point(ND_coord(n));
    out.size[agnameof(n)] = {ND_width(n) * 72, ND_height(n) * 72};
    for (Agedge_t* e = agfstout(g, n); e; e = agnxtout(g, e)) {
      const char* id = agget(e, const_cast<char*>("id"));
      if (!id || !std::string_view(id).starts_with("edge") || !ED_spl(e)) continue;
      Route r;
      for (int i = 0; i < ED_spl(e)->size; ++i) {
        const bezier& b = ED_spl(e)->list[i];
        Bezier piece;
        for (int j = 0; j < b.size; ++j) piece.points.push_back(point(b.list[j]));
        if (b.sflag) piece.start_arrow = point(b.sp);
        if (b.eflag) piece.end_arrow = point(b.ep);
        r.pieces.push_back(std::move(piece));
      }
      if (ED_label(e) && ED_label(e)->set) r.label = point(ED_label(e)->pos);
      if (ED_xlabel(e) && ED_xlabel(e)->set) r.xlabel = point(ED_xlabel(e)->pos);
      out.routes[std::stoul(std::string(id + 4))] = std::move(r);
    }
  }
  std::vector<Agraph_t*> todo{g};
  while (!todo.empty()) {
    Agraph_t* at = todo.back();
    todo.pop_back();
    for (int i = 1; i <= GD_n_cluster(at); ++i) {
      Agraph_t* c = GD_clust(at)[i];
      if (auto path = path_of_id.find(agnameof(c)); path != path_of_id.end())
        out.clusters[path->second] = {GD_bb(c).LL.x, GD_bb(c).LL.y, GD_bb(c).UR.x, GD_bb(c).UR.y};
      todo.push_back(c);
    }
  }
}

// Lays out the nodes of one block (and the edges between them) with dot. `block` is the
// cluster path the nodes are in ("" for a single loose node); clusters inside it are kept.
Layout lay_out(const Diagram& d, const std::string& block, const std::vector<std::size_t>& nodes,
               const std::vector<std::size_t>& edges) {
  Diagram sub;
  sub.rankdir = d.rankdir;
  sub.ranksep = d.ranksep;
  sub.legend = false;
  std::map<std::string, std::string> path_of_id;  // Graphviz's cluster name → our path
  auto inside = [&](const std::string& cluster) {
    if (cluster == block) return std::string();
    return block.empty() ? cluster : cluster.substr(block.size() + 1);
  };
  const bool gradient = !block.empty() && d.gradient_clusters.contains(segments(block).front());
  std::set<std::string> ids;
  for (std::size_t i : nodes) {
    DNode n = d.nodes[i];
    n.cluster = inside(n.cluster);
    ids.insert(n.id);
    std::string path;  // each cluster the node is in, from the outermost
    for (const std::string& segment :
         n.cluster.empty() ? std::vector<std::string>{} : segments(n.cluster)) {
      path += (path.empty() ? "" : "/") + segment;
      const std::string full = block.empty() ? path : block + "/" + path;
      if (auto label = d.cluster_labels.find(full); label != d.cluster_labels.end())
        sub.cluster_labels[path] = label->second;
      if (gradient) sub.gradient_clusters.insert(segments(path).front());
      path_of_id[cluster_id(path)] = full;
    }
    sub.add(std::move(n));
  }
  for (std::size_t k : edges) {
    DEdge e = d.edges[k];
    e.id = fmt::format("edge{}", k);
    sub.connect(std::move(e));
  }
  for (const auto& rank : d.same_rank) {
    std::vector<std::string> row;
    for (const std::string& id : rank)
      if (ids.contains(id)) row.push_back(id);
    if (!row.empty()) sub.same_rank.push_back(std::move(row));
  }

  Layout out;
  with_layout(print_dot(sub), "Graphviz could not lay out a block of the diagram", "",
              [&](GVC_t*, Agraph_t* g) {
                read_layout(g, path_of_id, out);
                return true;
              });
  return out;
}

// The route of a curve from tail to head with its arrow at `tip`; a reversed edge (declared head
// to tail, dir=back) is drawn from the head back to the tail, the arrow at its start.
Route ending(Bezier piece, Point tip, Route r, bool reversed) {
  if (reversed) {
    std::reverse(piece.points.begin(), piece.points.end());
    piece.start_arrow = tip;
  } else {
    piece.end_arrow = tip;
  }
  r.pieces.push_back(std::move(piece));
  return r;
}

// An edge between blocks: a curve leaving the tail and entering the head sideways when they
// are further apart across than up, else through their tops and bottoms.
Route connect(Point from, Point from_size, Point to, Point to_size, bool reversed) {
  const Point delta = to - from;
  // Sideways between nodes side by side (one step to the next), else up or down (one layer to
  // the next, within a step).
  const bool across = std::abs(delta.x) > (from_size.x + to_size.x) / 2 + 20;
  const double sx = delta.x >= 0 ? 1 : -1, sy = delta.y >= 0 ? 1 : -1;
  Point a = from, b = to, direction;
  if (across) {
    a.x += sx * from_size.x / 2, b.x -= sx * to_size.x / 2, direction = {sx, 0};
  } else {
    a.y += sy * from_size.y / 2, b.y -= sy * to_size.y / 2, direction = {0, sy};
  }
  const double reach = std::max(12.0, 0.4 * (across ? std::abs(b.x - a.x) : std::abs(b.y - a.y)));
  const Point tip = b;
  b = b - 6.0 * direction;  // the arrowhead's length (arrowsize 0.6)
  Bezier piece;
  piece.points = {a, a + reach * direction, b - reach * direction, b};
  Route r;
  // The label beside the curve's middle.
  const Point middle =
      0.125 * (piece.points[0] + piece.points[3]) + 0.375 * (piece.points[1] + piece.points[2]);
  r.label = across ? middle + Point{0, 7} : middle + Point{14, 0};
  return ending(std::move(piece), tip, r, reversed);
}

// A path of straight runs with rounded corners, as one piecewise cubic spline.
std::vector<Point> rounded_path(const std::vector<Point>& corners, double radius) {
  std::vector<Point> out{corners.front()};
  auto run_to = [&](Point to) {
    const Point from = out.back();
    out.push_back(from + (1.0 / 3) * (to - from));
    out.push_back(from + (2.0 / 3) * (to - from));
    out.push_back(to);
  };
  for (std::size_t i = 1; i + 1 < corners.size(); ++i) {
    const Point c = corners[i], in = c - corners[i - 1], on = corners[i + 1] - c;
    const double lin = std::hypot(in.x, in.y), lon = std::hypot(on.x, on.y);
    const double r = std::min({radius, lin / 2, lon / 2});
    const Point enter = c - (r / std::max(lin, 1e-9)) * in,
                leave = c + (r / std::max(lon, 1e-9)) * on;
    run_to(enter);
    out.push_back(enter + 0.55 * (c - enter));
    out.push_back(leave + 0.55 * (c - leave));
    out.push_back(leave);
  }
  run_to(corners.back());
  return out;
}

// An edge from one layer's block to another's in the same step: out of the tail's side, along
// the step's margin (and the gap between the rows when it must change sides), into the head's
// side, so it crosses no block. Each end uses the side of the step it is nearer; `left` and
// `right` are the step's margins, `gap` the height between the two rows.
Route around(Point from, Point from_size, Point to, Point to_size, bool reversed, double left,
             double right, double gap) {
  const double middle = (left + right) / 2;
  const double out_x = from.x < middle ? left : right, in_x = to.x < middle ? left : right;
  const double in_side = to.x < middle ? -1 : 1;
  // a little below or above the middle of the side, where a state entering sideways does not
  // arrive
  const Point tip{to.x + in_side * to_size.x / 2, to.y + (from.y < to.y ? -1 : 1) * to_size.y / 4};
  std::vector<Point> corners{{from.x + (from.x < middle ? -1 : 1) * from_size.x / 2, from.y},
                             {out_x, from.y}};
  if (out_x != in_x) corners.insert(corners.end(), {{out_x, gap}, {in_x, gap}});
  corners.insert(corners.end(), {{in_x, tip.y}, tip + Point{in_side * 6, 0}});  // 6: the arrowhead
  Route r;
  Bezier piece;
  piece.points = rounded_path(corners, 10);
  r.label = Point{in_x - in_side * 16, (to.y + corners[corners.size() - 3].y) / 2};
  return ending(std::move(piece), tip, r, reversed);
}

constexpr double kColumnGap = 56, kRowGap = 22, kSectionGap = 60, kFrame = 14, kTitle = 20;

}  // namespace

std::string block_of(const std::string& cluster) {
  if (cluster.empty()) return "";
  const std::size_t first = cluster.find('/');
  if (first == std::string::npos) return cluster;
  return cluster.substr(0, cluster.find('/', first + 1));
}

Diagram place(Diagram d) {
  if (d.grid.empty()) return d;
  // The legend as a block of its own, like the parameters: a row.
  std::vector<std::string> legend;
  for (DNode& sample : legend_samples(d, "legend")) legend.push_back(d.add(std::move(sample)).id);
  d.legend = false;
  if (d.rankdir == "LR" || d.rankdir == "RL")
    for (std::size_t i = 1; i < legend.size(); ++i)
      d.connect({legend[i - 1], legend[i], "", false, true});
  else
    d.same_rank.push_back(legend);

  // Nodes by block; invisible nodes only ordered dot's layout of the whole and are not needed,
  // invisible edges order the layout of a block.
  std::map<std::string, std::vector<std::size_t>> members;
  std::map<std::string, std::string> block_at;  // node id → its block ("#id" for a loose node)
  for (std::size_t i = 0; i < d.nodes.size(); ++i) {
    const DNode& n = d.nodes[i];
    if (n.invisible) continue;
    std::string block = block_of(n.cluster);
    if (block.empty()) block = "#" + n.id;
    block_at[n.id] = block;
    members[block].push_back(i);
  }
  std::map<std::string, std::vector<std::size_t>> inner_edges;
  std::vector<std::size_t> between;
  for (std::size_t k = 0; k < d.edges.size(); ++k) {
    const DEdge& e = d.edges[k];
    if (!block_at.contains(e.from) || !block_at.contains(e.to)) continue;
    if (block_at[e.from] == block_at[e.to])
      inner_edges[block_at[e.from]].push_back(k);
    else if (!e.invisible)
      between.push_back(k);
  }
  std::map<std::string, Layout> layouts;
  for (const auto& [block, nodes] : members)
    layouts[block] = lay_out(d, block.starts_with("#") ? "" : block, nodes, inner_edges[block]);

  // The extent of a block in the grid: its nodes, and the frame of its own cluster.
  auto extent = [&](const std::string& block) {
    const Layout& l = layouts.at(block);
    const bool framed = !block.starts_with("#") && block.find('/') != std::string::npos;
    return framed ? l.bb.grown(kFrame, kFrame, kFrame, kFrame + 12) : l.bb;
  };
  auto grid_cell = [&](const std::string& block) -> const GridCell* {
    auto at = d.grid.find(block.starts_with("#") ? block.substr(1) : block);
    return at == d.grid.end() ? nullptr : &at->second;
  };
  std::map<int, double> width, height;            // of each column and row
  std::map<int, std::set<std::string>> row_tops;  // the clusters each row's blocks are in
  for (const auto& [block, nodes] : members)
    if (const GridCell* cell = grid_cell(block)) {
      const Box e = extent(block);
      width[cell->column] = std::max(width[cell->column], e.width());
      height[cell->row] = std::max(height[cell->row], e.height());
      row_tops[cell->row].insert(segments(block).front());
    }
  // Columns from the left, rows from the top; rows of different clusters (the forward and the
  // backward steps) leave room for both frames and the lower one's title.
  std::map<int, double> left, bottom;
  double x = 0;
  for (const auto& [column, w] : width) left[column] = x, x += w + kColumnGap;
  double y = 0;
  std::optional<int> above;
  for (auto it = height.rbegin(); it != height.rend(); ++it) {
    if (above) {
      std::vector<std::string> shared;
      std::set_intersection(row_tops[*above].begin(), row_tops[*above].end(),
                            row_tops[it->first].begin(), row_tops[it->first].end(),
                            std::back_inserter(shared));
      y -= shared.empty() ? kSectionGap : kRowGap;
    }
    y -= it->second;
    bottom[it->first] = y;
    above = it->first;
  }

  // Where each block's layout goes: at the left of its cell (where a step's state enters),
  // centred in its row.
  std::map<std::string, Point> offset;
  for (const auto& [block, nodes] : members)
    if (const GridCell* cell = grid_cell(block)) {
      const Box e = extent(block);
      offset[block] = {left[cell->column] - e.x0,
                       bottom[cell->row] + (height[cell->row] - e.height()) / 2 - e.y0};
    }
  std::map<std::string, Point> centre, size;
  auto place_block = [&](const std::string& block) {
    const Layout& l = layouts.at(block);
    for (const auto& [id, c] : l.centre) centre[id] = c + offset[block], size[id] = l.size.at(id);
  };
  for (const auto& [block, at] : offset) place_block(block);

  // Loose nodes (h0, y, the loss, the gradients' outputs): beside the grid, on the side of what
  // they connect to and at its height; those that connect only to other loose nodes, further out.
  double grid_left = 0, grid_right = x - kColumnGap;
  std::map<std::string, std::vector<std::string>> neighbours;
  for (std::size_t k : between) {
    const DEdge& e = d.edges[k];
    neighbours[e.from].push_back(e.to);
    neighbours[e.to].push_back(e.from);
  }
  std::vector<std::string> loose;
  for (const auto& [block, nodes] : members)
    if (!offset.contains(block) && block.starts_with("#")) loose.push_back(block.substr(1));
  std::map<std::pair<int, int>, std::vector<std::string>> side_columns;  // (side, depth) → ids
  std::map<std::string, double> wanted_y;
  std::map<std::string, int> side_of;
  for (int depth = 1; depth <= 4; ++depth) {
    std::map<std::string, std::pair<double, double>> found;  // id → (mean x, mean y)
    for (const std::string& id : loose) {
      if (side_of.contains(id)) continue;
      double sx = 0, sy = 0;
      int n = 0;
      for (const std::string& other : neighbours[id])
        if (centre.contains(other)) sx += centre[other].x, sy += centre[other].y, ++n;
      if (n) found[id] = {sx / n, sy / n};
    }
    for (const auto& [id, at] : found) {
      const int side = at.first < (grid_left + grid_right) / 2 ? -1 : 1;
      side_of[id] = side;
      wanted_y[id] = at.second;
      side_columns[{side, depth}].push_back(id);
      centre[id] = {at.first, at.second};  // for the next depth; set properly below
      size[id] = layouts.at("#" + id).size.at(id);
    }
  }
  for (const std::string& id : loose)  // connected to nothing: at the right
    if (!side_of.contains(id)) {
      side_of[id] = 1;
      wanted_y[id] = 0;
      side_columns[{1, 5}].push_back(id);
      size[id] = layouts.at("#" + id).size.at(id);
    }
  double reach[2] = {grid_left - kColumnGap, grid_right + kColumnGap};
  for (auto& [key, ids] : side_columns) {
    const int side = key.first;
    double w = 0;
    for (const std::string& id : ids) w = std::max(w, size[id].x);
    const double cx = side < 0 ? reach[0] - w / 2 : reach[1] + w / 2;
    (side < 0 ? reach[0] : reach[1]) += side * (w + kColumnGap);
    // Top to bottom at the heights wanted, pushed apart where they would overlap.
    std::sort(ids.begin(), ids.end(), [&](const std::string& a, const std::string& b) {
      return wanted_y[a] > wanted_y[b];
    });
    double floor = 1e300;
    for (const std::string& id : ids) {
      const double cy = std::min(wanted_y[id], floor - size[id].y / 2 - 12);
      centre[id] = {cx, cy};
      floor = cy - size[id].y / 2;
      offset["#" + id] = centre[id] - layouts.at("#" + id).centre.at(id);
    }
  }

  // The clusters' boxes: each block's own clusters; a step's layer fills its cell, and a step
  // spans its column and the rows of its blocks, so that every step's box is alike.
  std::map<std::string, Box> boxes;
  for (const auto& [block, l] : layouts) {
    for (const auto& [path, box] : l.clusters) boxes[path] = box.moved(offset[block]);
    const GridCell* cell = grid_cell(block);
    if (!cell || block.starts_with("#")) continue;
    const Box area{left[cell->column], bottom[cell->row], left[cell->column] + width[cell->column],
                   bottom[cell->row] + height[cell->row]};
    if (block.find('/') != std::string::npos) boxes[block] = area;
    const Box framed = area.grown(kFrame, kFrame, kFrame, kFrame + 16);
    const std::string top = segments(block).front();
    if (auto known = boxes.find(top); known != boxes.end())
      known->second = known->second.joined(framed);
    else
      boxes.emplace(top, framed);
  }
  // The top clusters outside the grid (parameters, legend) in a row above it.
  {
    double top_of_grid = -1e300;
    for (const auto& [path, box] : boxes) top_of_grid = std::max(top_of_grid, box.y1);
    for (const auto& [id, c] : centre) top_of_grid = std::max(top_of_grid, c.y + size[id].y / 2);
    double at = 0;
    for (const auto& [block, l] : layouts) {
      if (block.starts_with("#") || grid_cell(block)) continue;
      Box framed = l.bb.grown(kFrame, kFrame, kFrame, kFrame + 16);
      // wide enough for its title (12-point bold, about 7.5 points a character)
      const auto label = d.cluster_labels.find(block);
      const double title =
          7.5 * double(label != d.cluster_labels.end() ? label->second.size() : block.size()) + 20;
      if (framed.width() < title) framed = framed.grown(0, 0, title - framed.width(), 0);
      const Point by = {at - framed.x0, top_of_grid + 30 - framed.y0};
      offset[block] = by;
      boxes[block] = framed.moved(by);
      for (const auto& [path, box] : l.clusters) boxes[path] = box.moved(by);
      place_block(block);
      at += framed.width() + 30;
    }
  }
  for (const auto& [path, box] : boxes) d.cluster_bb[path] = box.str();

  // Everything's positions; edges within a block keep dot's route, edges between blocks get a
  // curve of their own.
  for (DNode& n : d.nodes)
    if (centre.contains(n.id)) n.pos = point_text(centre[n.id]);
  std::vector<DEdge> edges;
  for (const auto& [block, ks] : inner_edges)
    for (std::size_t k : ks) {
      DEdge e = d.edges[k];
      if (e.invisible) continue;
      const Layout& l = layouts.at(block);
      if (auto r = l.routes.find(k); r != l.routes.end()) {
        e.pos = spline_text(r->second.pieces, offset[block]);
        if (const auto& p = e.xlabel ? r->second.xlabel : r->second.label)
          e.label_pos = point_text(*p + offset[block]);
      }
      edges.push_back(std::move(e));
    }
  for (std::size_t k : between) {
    DEdge e = d.edges[k];
    const GridCell *a = grid_cell(block_at[e.from]), *b = grid_cell(block_at[e.to]);
    const bool up_a_column = a && b && a->column == b->column && a->row != b->row;
    const Route r =
        up_a_column
            ? around(centre[e.from], size[e.from], centre[e.to], size[e.to], e.reversed,
                     left[a->column] - kFrame / 2, left[a->column] + width[a->column] + kFrame / 2,
                     (bottom[std::max(a->row, b->row)] + bottom[std::min(a->row, b->row)] +
                      height[std::min(a->row, b->row)]) /
                         2)
            : connect(centre[e.from], size[e.from], centre[e.to], size[e.to], e.reversed);
    e.pos = spline_text(r.pieces, {});
    e.label_pos = point_text(*r.label);
    edges.push_back(std::move(e));
  }
  d.edges = std::move(edges);
  d.nodes.erase(
      std::remove_if(d.nodes.begin(), d.nodes.end(), [](const DNode& n) { return n.invisible; }),
      d.nodes.end());
  d.same_rank.clear();

  Box all;
  bool first = true;
  for (const auto& [path, box] : boxes) all = first ? box : all.joined(box), first = false;
  for (const auto& [id, c] : centre) {
    const Box b{c.x - size[id].x / 2, c.y - size[id].y / 2, c.x + size[id].x / 2,
                c.y + size[id].y / 2};
    all = first ? b : all.joined(b), first = false;
  }
  if (!d.title.empty()) all.y1 += kTitle + 10;
  d.bb = all.str();
  d.layout = "nop2";
  return d;
}

}  // namespace rnngraph::viz::detail
