// The format: magic "\x93NUMPY", version (1.0: u16 header length; 2.0/3.0: u32), then a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (T, B, I), } padded with spaces
// so the data starts 64-byte aligned, then the raw data.
#include <rnngraph/framework/io/npy.h>

#include <cmath>
#include <cstring>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>

namespace rnngraph::io {

namespace {
constexpr std::string_view kMagic = "\x93NUMPY";

uint32_t little_endian(std::string_view bytes) {
  uint32_t v = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) v = (v << 8) | uint8_t(bytes[i]);
  return v;
}
}  // namespace

namespace {
struct Header {
  std::string descr;
  Shape shape;
  std::size_t data_at = 0;
};

// The header of .npy bytes: dtype, shape, where the data starts; the data's size is checked
// against the shape for an element of `element_size` bytes (0: from the dtype, 4 or 8).
Header parse_header(std::string_view bytes, std::string_view what, std::string_view kind) {
  auto fail = [&](std::string_view why) {
    return FormatError(fmt::format("{}: not a {} .npy file: {}", what, kind, why));
  };
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) throw fail("bad magic");
  const int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) throw fail(fmt::format("unknown version {}", major));
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) throw fail("truncated header");
  const std::size_t header_len = little_endian(bytes.substr(8, len_bytes));
  const std::size_t data_at = 8 + len_bytes + header_len;
  if (data_at > bytes.size()) throw fail("header length runs past the end of the file");
  // numpy writes headers of a few hundred bytes; a longer one is refused before std::regex,
  // whose backtracking recurses as deep as its input is long.
  if (header_len > 4096) throw fail(fmt::format("header of {} bytes (at most 4096)", header_len));
  const std::string header(bytes.substr(8 + len_bytes, header_len));

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw fail("no 'descr' in header");
  Header h{m[1].str().substr(0, 16), {}, data_at};
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    throw fail("no 'fortran_order' in header");
  if (m[1] == "True") throw fail("Fortran order is not supported (save with C order)");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw fail("no 'shape' in header");
  std::vector<int64_t> dims;
  const std::string shape_text = m[1];
  if (shape_text.size() > 128) throw fail("shape text too long");
  if (!std::regex_match(shape_text, std::regex(R"(\s*(\d+\s*,\s*)*(\d+\s*,?)?\s*)")))
    throw fail(fmt::format("malformed shape ({})", shape_text));
  const std::regex number(R"(\s*(\d+)\s*(,|$))");
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number);
       it != std::sregex_iterator(); ++it) {
    if ((*it)[1].length() > 12) throw fail("dimension too large");
    dims.push_back(std::stoll((*it)[1]));
  }
  if (dims.empty() || dims.size() > kMaxRank)
    throw fail(fmt::format("shape ({}) must have rank 1 to {}", shape_text, kMaxRank));
  try {
    h.shape = Shape(std::span<const int64_t>(dims));
  } catch (const ShapeError& e) {
    throw fail(e.what());
  }
  // The element size the dtype names ('<i2': 2), so an unsupported dtype is refused by name.
  const char size = h.descr.empty() ? '4' : h.descr.back();
  const std::size_t element = size == '8' ? 8 : size == '2' ? 2 : size == '1' ? 1 : 4;
  const std::size_t expected = std::size_t(h.shape.numel()) * element;
  if (bytes.size() - data_at != expected)
    throw fail(fmt::format("shape {} needs {} bytes of data, the file has {}", h.shape.str(),
                           expected, bytes.size() - data_at));
  return h;
}
}  // namespace

Tensor parse_npy(std::string_view bytes, std::string_view what) {
  const Header h = parse_header(bytes, what, "float32");
  if (h.descr != "<f4")
    throw FormatError(fmt::format(
        "{}: not a float32 .npy file: dtype {} is not supported (only little-endian float32 "
        "'<f4')",
        what, quote(h.descr)));
  Tensor t(h.shape);
  std::memcpy(t.data(), bytes.data() + h.data_at, std::size_t(h.shape.numel()) * sizeof(float));
  return t;
}

std::vector<double> read_npy_numbers(const std::filesystem::path& path) {
  return parse_npy_numbers(read_file(path), path.string());
}

namespace {
// Element i of a numeric .npy's data as a double.
double element(const Header& h, const char* data, std::size_t i, std::string_view what) {
  if (h.descr == "<f4") {
    float v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  if (h.descr == "<f8") {
    double v;
    std::memcpy(&v, data + 8 * i, 8);
    return v;
  }
  if (h.descr == "<i4") {
    int32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  if (h.descr == "<i8") {
    int64_t v;
    std::memcpy(&v, data + 8 * i, 8);
    return double(v);
  }
  throw FormatError(
      fmt::format("{}: dtype {} is not supported (little-endian int32, int64, float32 or float64)",
                  what, quote(h.descr)));
}
}  // namespace

NpyArray read_npy_array(const std::filesystem::path& path) {
  return parse_npy_array(read_file(path), path.string());
}

NpyArray parse_npy_array(std::string_view bytes, std::string_view what) {
  const Header h = parse_header(bytes, what, "numeric");
  const char* data = bytes.data() + h.data_at;
  element(h, data, 0, what);  // the dtype, checked before anything is allocated
  NpyArray out{Tensor(h.shape), h.descr.starts_with("<i")};
  float* to = out.values.data();
  constexpr double kExact = 16777216;  // 2^24: every integer up to it is a float32
  for (std::size_t i = 0; i < std::size_t(h.shape.numel()); ++i) {
    const double v = element(h, data, i, what);
    if (out.integer && std::abs(v) > kExact)
      throw FormatError(fmt::format(
          "{}: integer {} at element {} is beyond 2^24 in size, which float32 cannot hold exactly",
          what, v, i));
    to[i] = float(v);
    if (double(to[i]) != v && !std::isnan(v)) out.rounded = true;
  }
  return out;
}

std::vector<double> parse_npy_numbers(std::string_view bytes, std::string_view what) {
  const Header h = parse_header(bytes, what, "numeric");
  const char* data = bytes.data() + h.data_at;
  std::vector<double> out(std::size_t(h.shape.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = element(h, data, i, what);
  return out;
}

Tensor read_npy(const std::filesystem::path& path) {
  return parse_npy(read_file(path), path.string());
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  const auto dims = tensor.shape().dims();
  std::string shape;
  for (int64_t d : dims) shape += fmt::format("{}, ", d);
  shape.resize(shape.size() - (dims.size() == 1 ? 1 : 2));  // (3,) but (3, 2)
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", shape);
  // Pad with spaces and a newline so magic + version + length + header is a multiple of 64.
  const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  write_atomically(path, [&](std::ostream& out) {
    out.write(kMagic.data(), kMagic.size());
    const char version[2] = {1, 0};
    out.write(version, 2);
    const char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
    out.write(len, 2);
    out << header;
    out.write(reinterpret_cast<const char*>(tensor.data()),
              std::streamsize(tensor.numel() * sizeof(float)));
  });
}

}  // namespace rnngraph::io
