#include <rnngraph/framework/io/csv.h>

#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>

namespace rnngraph::io {

Tensor parse_csv(std::string_view text, std::string_view what) {
  std::vector<float> values;
  int64_t rows = 0, columns = -1;
  std::size_t line_start = 0;
  int line_number = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line

    int64_t fields = 0;
    std::size_t at = 0;
    while (true) {
      std::size_t comma = line.find(',', at);
      std::string_view field =
          line.substr(at, comma == std::string_view::npos ? line.npos : comma - at);
      while (!field.empty() && (field.front() == ' ' || field.front() == '\t'))
        field.remove_prefix(1);
      while (!field.empty() && (field.back() == ' ' || field.back() == '\t'))
        field.remove_suffix(1);
      if (!field.empty() && field.front() == '+') field.remove_prefix(1);
      float v = 0;
      auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (field.empty() || ec != std::errc() || end != field.data() + field.size() ||
          !std::isfinite(v))
        throw FormatError(
            fmt::format("{}:{}: {} is not a finite number", what, line_number, quote(field)));
      values.push_back(v);
      ++fields;
      if (comma == std::string_view::npos) break;
      at = comma + 1;
    }
    if (columns >= 0 && fields != columns)
      throw FormatError(fmt::format("{}:{}: {} fields, earlier lines have {}", what, line_number,
                                    fields, columns));
    columns = fields;
    ++rows;
  }
  if (rows == 0) throw FormatError(fmt::format("{}: no data", what));
  return Tensor::from({rows, columns}, values);
}

Tensor read_csv(const std::filesystem::path& path) {
  return parse_csv(read_file(path), path.string());
}

void write_csv(const std::filesystem::path& path, const Tensor& tensor) {
  const Shape& s = tensor.shape();
  if (!(s.rank() == 2 || (s.rank() == 3 && s[1] == 1)))
    throw ShapeError(fmt::format("CSV holds [T, H] or [T, 1, H], not {}", s.str()));
  const int64_t rows = s[0], columns = s[s.rank() - 1];
  std::string text;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c)
      text += fmt::format("{}{}", c ? "," : "",
                          tensor.data()[r * columns + c]);  // shortest round-trip form
    text += '\n';
  }
  write_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace rnngraph::io
