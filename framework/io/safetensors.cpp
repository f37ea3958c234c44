#include <rnngraph/framework/io/safetensors.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>

namespace rnngraph::io {

namespace {
constexpr std::array kKnownDtypes{"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                  "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};
}  // namespace

TensorMap parse_safetensors(std::string_view bytes, std::string_view what, Metadata* metadata) {
  auto fail = [&](std::string_view why) {
    return FormatError(fmt::format("{}: not a valid safetensors file: {}", what, why));
  };
  if (bytes.size() < 8) throw fail("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);
  if (n > kMaxSafetensorsHeader)
    throw fail(fmt::format("header length {} exceeds the limit of {}", n, kMaxSafetensorsHeader));
  if (n > bytes.size() - 8)
    throw fail(
        fmt::format("header length {} runs past the end of the file ({} bytes)", n, bytes.size()));
  const std::string_view data = bytes.substr(8 + n);

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("header is not JSON ({})", e.what()));
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  struct Entry {
    std::string name;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();
    const auto& info = item.value();
    if (name == "__metadata__") {
      if (!info.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string()) throw fail(fmt::format("__metadata__ '{}' is not a string", key));
        if (metadata) (*metadata)[key] = value.get<std::string>();
      }
      continue;
    }
    auto bad = [&](std::string_view why) {
      return fail(fmt::format("tensor {}: {}", quote(name), why));
    };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) throw bad("dtype is not a string");
    const std::string dtype = info["dtype"];
    if (std::find(kKnownDtypes.begin(), kKnownDtypes.end(), dtype) == kKnownDtypes.end())
      throw bad(fmt::format("unknown dtype {}", quote(dtype)));
    if (dtype != "F32") throw bad(fmt::format("dtype {} is not supported (only F32)", dtype));

    const auto& shape = info["shape"];
    if (!shape.is_array()) throw bad("shape is not an array");
    std::vector<int64_t> dims;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) throw bad("shape holds something other than a whole number");
      if (d.get<uint64_t>() > (uint64_t(1) << 40)) throw bad("a dimension is implausibly large");
      dims.push_back(d.get<int64_t>());
    }
    if (dims.empty() || dims.size() > kMaxRank)
      throw bad(fmt::format("rank {} is not supported (1 to {})", dims.size(), kMaxRank));
    Shape s;
    try {
      s = Shape(std::span<const int64_t>(dims));
    } catch (const ShapeError& e) {
      throw bad(e.what());
    }

    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw bad("data_offsets is not a pair of whole numbers");
    const uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > data.size())
      throw bad(fmt::format("data_offsets [{}, {}] lie outside the {}-byte buffer", begin, end,
                            data.size()));
    if (end - begin != uint64_t(s.numel()) * sizeof(float))
      throw bad(fmt::format("shape {} of F32 needs {} bytes, data_offsets give {}", s.str(),
                            s.numel() * sizeof(float), end - begin));
    entries.push_back({name, s, begin, end});
  }

  // The buffer must be covered exactly: sorted ranges, each starting where the last ended.
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
  uint64_t at = 0;
  for (const Entry& e : entries) {
    if (e.begin < at) throw fail(fmt::format("tensor '{}' overlaps the previous one", e.name));
    if (e.begin > at) throw fail(fmt::format("a hole in the data before tensor '{}'", e.name));
    at = e.end;
  }
  if (at != data.size())
    throw fail(fmt::format("{} bytes of data after the last tensor", data.size() - at));

  TensorMap out;
  for (const Entry& e : entries) {
    Tensor t(e.shape);
    std::memcpy(t.data(), data.data() + e.begin, e.end - e.begin);
    out.emplace(e.name, t);
  }
  return out;
}

TensorMap read_safetensors(const std::filesystem::path& path, Metadata* metadata) {
  return parse_safetensors(read_file(path), path.string(), metadata);
}

std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = uint64_t(t.numel()) * sizeof(float);
    header[name] = {
        {"dtype", "F32"},
        {"shape", std::vector<int64_t>(t.shape().dims().begin(), t.shape().dims().end())},
        {"data_offsets", {at, at + bytes}}};
    at += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  out += text;
  for (const auto& [name, t] : tensors)
    out.append(reinterpret_cast<const char*>(t.data()), std::size_t(t.numel()) * sizeof(float));
  return out;
}

void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const Metadata& metadata) {
  const std::string bytes = serialize_safetensors(tensors, metadata);
  write_atomically(
      path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

}  // namespace rnngraph::io
