#include "loss_curve.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>

namespace rnngraph::cli {

void write_loss_curve(const std::filesystem::path& path, const std::vector<float>& losses,
                      const std::string& title) {
  const double W = 640, H = 360, left = 70, right = 20, top = 40, bottom = 50;
  std::vector<double> logs;
  for (float l : losses)
    if (l > 0 && std::isfinite(l)) logs.push_back(std::log10(double(l)));
  double lo = logs.empty() ? -1 : std::floor(*std::min_element(logs.begin(), logs.end()));
  double hi = logs.empty() ? 0 : std::ceil(*std::max_element(logs.begin(), logs.end()));
  if (hi <= lo) hi = lo + 1;
  const double n = double(std::max<std::size_t>(losses.size(), 2) - 1);
  auto x = [&](double i) { return left + (W - left - right) * i / n; };
  auto y = [&](double v) { return top + (H - top - bottom) * (hi - v) / (hi - lo); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{3}</text>\n",
      W, H, W / 2, title);
  for (double d = lo; d <= hi + 1e-9; d += 1) {  // a gridline and label per decade
    svg += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#dddddd\"/>\n"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
        left, W - right, y(d), left - 6, y(d) + 4, std::pow(10.0, d));
  }
  svg += fmt::format(
      "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<line x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
      "<text x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">iteration (1 to {6})</text>\n"
      "<text x=\"16\" y=\"{7}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {7})\">loss "
      "(log scale)</text>\n",
      left, top, H - bottom, W - right, (left + W - right) / 2, H - 14, losses.size(),
      (top + H - bottom) / 2);
  std::string points;
  for (std::size_t i = 0; i < losses.size(); ++i)
    if (losses[i] > 0 && std::isfinite(losses[i]))
      points += fmt::format("{:.1f},{:.1f} ", x(double(i)), y(std::log10(double(losses[i]))));
  svg += fmt::format(
      "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"{}\"/>\n</svg>\n",
      points);
  io::write_atomically(path, [&](std::ostream& out) { out << svg; });
}

std::vector<float> read_loss_log(const std::filesystem::path& path) {
  std::vector<float> losses;
  const std::string text = io::read_file(path);
  std::size_t at = text.find('\n');  // after the header
  while (at != std::string::npos && at + 1 < text.size()) {
    const std::size_t end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end == std::string::npos ? end : end - at - 1);
    const std::size_t comma = line.rfind(',');
    if (comma != std::string::npos) {
      try {
        losses.push_back(std::stof(line.substr(comma + 1)));
      } catch (const std::exception&) {
        throw FormatError(
            fmt::format("{}: '{}' does not end in a loss", path.string(), line.substr(0, 60)));
      }
    }
    at = end;
  }
  return losses;
}

}  // namespace rnngraph::cli
