#include <rnngraph/framework/errors.h>

#include <fmt/format.h>

namespace rnngraph {

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 16);
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte <= 0x7e)
      out += char(byte);
    else
      out += fmt::format("\\x{:02x}", byte);
  }
  if (text.size() > max) out += fmt::format("... ({} more bytes)", text.size() - max);
  return out;
}

std::string quote(std::string_view value, std::size_t max) {
  std::string out(1, '\'');
  out += printable(value, max);
  out += '\'';
  return out;
}

}  // namespace rnngraph
