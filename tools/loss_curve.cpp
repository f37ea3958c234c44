#include "loss_curve.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>
#include <rnngraph/tools/viz/diagram.h>

namespace rnngraph::cli {

namespace {
// Tick values of a log axis over [lo, hi] (log10 units): powers of ten, or 1-2-5 steps, or
// every digit, or halves, whichever first gives at least three ticks.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  for (const std::vector<double>& mantissas : {std::vector<double>{1},
                                               {1, 2, 5},
                                               {1, 2, 3, 4, 5, 6, 7, 8, 9},
                                               {1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9}}) {
    ticks.clear();
    for (double decade = std::floor(lo); decade <= std::ceil(hi); ++decade)
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, decade);
        if (std::log10(v) >= lo - 1e-9 && std::log10(v) <= hi + 1e-9) ticks.push_back(v);
      }
    if (ticks.size() >= 3) break;
  }
  return ticks;
}

// Iterations to label on [1, n]: 1 and multiples of a 1-2-5 step, about six in all.
std::vector<int64_t> iteration_ticks(int64_t n) {
  constexpr double kFactors[] = {2, 2.5, 2};  // 1, 2, 5, 10, 20, 50, ...
  double step = 1;
  for (int i = 0; double(n) / step > 6; ++i) step *= kFactors[i % 3];
  std::vector<int64_t> ticks{1};
  for (int64_t v = int64_t(step); v <= n; v += int64_t(step))
    if (v > 1) ticks.push_back(v);
  return ticks;
}
}  // namespace

void write_loss_curve(const std::filesystem::path& path, const std::vector<float>& losses,
                      const std::string& title, const ValidationLosses& validation) {
  const double W = 640, H = 360, left = 70, right = 20, top = 40, bottom = 56;
  std::vector<double> logs;
  for (float l : losses)
    if (l > 0 && std::isfinite(l)) logs.push_back(std::log10(double(l)));
  for (const auto& [iteration, l] : validation)
    if (l > 0 && std::isfinite(l)) logs.push_back(std::log10(double(l)));
  // The data's own range, a little padded: a loss from 4.3 to 2.3 fills the plot
  double lo = logs.empty() ? -1 : *std::min_element(logs.begin(), logs.end());
  double hi = logs.empty() ? 0 : *std::max_element(logs.begin(), logs.end());
  const double pad = std::max(0.05 * (hi - lo), 0.02);
  lo -= pad, hi += pad;
  const double n = double(std::max<std::size_t>(losses.size(), 2) - 1);
  auto x = [&](double i) { return left + (W - left - right) * i / n; };
  auto y = [&](double v) { return top + (H - top - bottom) * (hi - v) / (hi - lo); };

  // The declaration makes it a standalone XML document (Graphviz and some viewers need it).
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{3}</text>\n",
      W, H, W / 2, viz::xml_escaped(title));
  for (double v : log_ticks(lo, hi)) {  // a gridline and label per tick
    const double at = y(std::log10(v));
    svg += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#dddddd\"/>\n"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
        left, W - right, at, left - 6, at + 4, v);
  }
  for (int64_t it : iteration_ticks(int64_t(std::max<std::size_t>(losses.size(), 1)))) {
    const double at = x(double(it - 1));
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        at, H - bottom, H - bottom + 5, H - bottom + 18, it);
  }
  svg += fmt::format(
      "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<line x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<text x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">iteration</text>\n"
      "<text x=\"16\" y=\"{6}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {6})\">loss "
      "(log scale)</text>\n",
      left, top, H - bottom, W - right, (left + W - right) / 2, H - 10, (top + H - bottom) / 2);
  std::string points;
  for (std::size_t i = 0; i < losses.size(); ++i)
    if (losses[i] > 0 && std::isfinite(losses[i]))
      points += fmt::format("{:.1f},{:.1f} ", x(double(i)), y(std::log10(double(losses[i]))));
  svg += fmt::format(
      "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"{}\"/>\n", points);
  if (!validation.empty()) {  // the points, joined, and a legend in the top right corner
    std::string line;
    for (const auto& [iteration, l] : validation) {
      if (!(l > 0 && std::isfinite(l))) continue;
      const double px = x(double(iteration - 1)), py = y(std::log10(double(l)));
      line += fmt::format("{:.1f},{:.1f} ", px, py);
      svg +=
          fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"#2471a3\"/>\n", px, py);
    }
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"#2471a3\" stroke-width=\"1.5\" points=\"{}\"/>\n", line);
    const double lx = W - right - 150, ly = top + 8;
    svg += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#c0392b\" "
        "stroke-width=\"2\"/>\n<text x=\"{3}\" y=\"{4}\">training</text>\n"
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{5}\" y2=\"{5}\" stroke=\"#2471a3\" "
        "stroke-width=\"2\"/>\n<circle cx=\"{6}\" cy=\"{5}\" r=\"3.5\" fill=\"#2471a3\"/>\n"
        "<text x=\"{3}\" y=\"{7}\">validation</text>\n",
        lx, lx + 24, ly, lx + 30, ly + 4, ly + 18, lx + 12, ly + 22);
  }
  svg += "</svg>\n";
  io::write_atomically(path, [&](std::ostream& out) { out << svg; });
}

LossLog read_loss_log(const std::filesystem::path& path) {
  const std::string text = io::read_file(path);
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    lines.push_back(std::string_view(text).substr(at, end - at));
    at = end + 1;
  }
  auto cells = [](std::string_view line) {
    std::vector<std::string_view> out;
    for (std::size_t at = 0;;) {
      const std::size_t comma = line.find(',', at);
      out.push_back(line.substr(at, comma == std::string_view::npos ? comma : comma - at));
      if (comma == std::string_view::npos) return out;
      at = comma + 1;
    }
  };
  const std::vector<std::string_view> header =
      lines.empty() ? std::vector<std::string_view>{} : cells(lines[0]);
  auto column = [&](std::string_view name) {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : int(it - header.begin());
  };
  const int loss = column("loss"), validation = column("val_loss");
  if (loss < 0) throw FormatError(fmt::format("{}: no 'loss' column in its header", path.string()));
  auto number = [&](std::string_view cell, std::string_view line) {
    try {
      return std::stof(std::string(cell));
    } catch (const std::exception&) {
      throw FormatError(fmt::format("{}: '{}' holds no loss where its header says", path.string(),
                                    line.substr(0, 60)));
    }
  };
  LossLog log;
  for (std::size_t k = 1; k < lines.size(); ++k) {
    if (lines[k].empty()) continue;
    const std::vector<std::string_view> row = cells(lines[k]);
    if (int(row.size()) <= loss)
      throw FormatError(fmt::format("{}: '{}' has fewer columns than its header", path.string(),
                                    lines[k].substr(0, 60)));
    log.losses.push_back(number(row[std::size_t(loss)], lines[k]));
    if (validation >= 0 && int(row.size()) > validation && !row[std::size_t(validation)].empty())
      log.validation.emplace_back(int64_t(log.losses.size()),
                                  number(row[std::size_t(validation)], lines[k]));
  }
  return log;
}

}  // namespace rnngraph::cli
