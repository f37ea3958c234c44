#include <rnngraph/framework/io/safetensors.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/io/files.h>

namespace rnngraph::io {

namespace {
constexpr std::array kKnownDtypes{"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                  "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};

// Bytes per value of the dtypes read, 0 for the rest.
std::size_t value_bytes(std::string_view dtype) {
  return dtype == "F32" ? 4 : dtype == "BF16" ? 2 : dtype == "I8" ? 1 : 0;
}
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
    std::size_t width;  // bytes per value: 4 F32, 2 BF16, 1 I8
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
    const std::size_t width = value_bytes(dtype);
    if (width == 0)
      throw bad(fmt::format("dtype {} is not supported (F32, I8 and BF16 are)", dtype));

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
    if (end - begin != uint64_t(s.numel()) * width)
      throw bad(fmt::format("shape {} of {} needs {} bytes, data_offsets give {}", s.str(), dtype,
                            uint64_t(s.numel()) * width, end - begin));
    entries.push_back({name, s, begin, end, width});
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
    const char* from = data.data() + e.begin;
    float* to = t.data();
    if (e.width == 4) {
      std::memcpy(to, from, e.end - e.begin);
    } else if (e.width == 2) {  // a bfloat16 is the top half of a float32
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t bits;
        std::memcpy(&bits, from + 2 * i, 2);
        to[i] = std::bit_cast<float>(uint32_t(bits) << 16);
      }
    } else {
      for (int64_t i = 0; i < t.numel(); ++i) to[i] = float(int8_t(from[i]));
    }
    out.emplace(e.name, t);
  }
  // I8 tensors with a scale per column: dequantized, the companions dropped. A companion is an
  // F32 tensor (so never an I8 one with a companion of its own, and never dropped twice).
  std::map<std::string_view, std::size_t> width_of;
  for (const Entry& e : entries) width_of[e.name] = e.width;
  for (const Entry& e : entries) {
    const auto scale = out.find(e.name + ".scale");
    if (e.width != 1 || scale == out.end()) continue;
    if (width_of.at(scale->first) != 4)
      throw fail(fmt::format("tensor '{}.scale' is not F32", e.name));
    const int64_t columns = e.shape[e.shape.rank() - 1];
    if (!(scale->second.shape() == Shape{columns}))
      throw fail(fmt::format("tensor '{}.scale' is {}, not one scale per column of '{}' {}", e.name,
                             scale->second.shape().str(), e.name, e.shape.str()));
    float* v = out.at(e.name).data();
    const float* by_column = scale->second.data();
    for (int64_t i = 0; i < e.shape.numel(); ++i) v[i] *= by_column[i % columns];
    out.erase(scale);
  }
  return out;
}

TensorMap read_safetensors(const std::filesystem::path& path, Metadata* metadata) {
  return parse_safetensors(read_file(path), path.string(), metadata);
}

namespace {
// The bfloat16 nearest to v (ties to even), as its 16 bits; a NaN stays a (quiet) NaN.
uint16_t bfloat16_bits(float v) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40);
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// `t` quantized per column (Dtypes' "I8"): the bytes, and the scales in `scales`.
std::string int8_bytes(const std::string& name, const Tensor& t, Tensor& scales) {
  const int64_t columns = t.shape()[t.shape().rank() - 1], rows = t.numel() / columns;
  scales = Tensor({columns});
  const float* v = t.data();
  for (int64_t c = 0; c < columns; ++c) {
    float top = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float x = v[r * columns + c];
      if (!std::isfinite(x))
        throw Error(fmt::format("tensor '{}' holds {}: it cannot be stored as int8", name, x));
      top = std::max(top, std::fabs(x));
    }
    scales.data()[c] = top / 127;
  }
  std::string bytes(std::size_t(t.numel()), '\0');
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float scale = scales.data()[i % columns];
    const float q = scale > 0 ? v[i] / scale : 0.0f;
    bytes[std::size_t(i)] =
        char(int8_t(std::clamp(std::trunc(q + (q < 0 ? -0.5f : 0.5f)), -127.0f, 127.0f)));
  }
  return bytes;
}
}  // namespace

std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata,
                                  const Dtypes& stored) {
  // Every tensor's bytes and dtype, the I8 ones' scales among them.
  struct Stored {
    std::string dtype;
    Shape shape;
    std::string bytes;
  };
  std::map<std::string, Stored, std::less<>> out_tensors;
  for (const auto& [name, dtype] : stored)
    if (!tensors.contains(name) || (dtype != "I8" && dtype != "BF16"))
      throw Error(fmt::format("tensor '{}' cannot be stored as {}", name, dtype));
  for (const auto& [name, t] : tensors) {
    const auto how = stored.find(name);
    const std::string dtype = how == stored.end() ? "F32" : how->second;
    std::string bytes;
    if (dtype == "F32") {
      bytes.assign(reinterpret_cast<const char*>(t.data()), std::size_t(t.numel()) * sizeof(float));
    } else if (dtype == "BF16") {
      for (float v : t.values()) {
        const uint16_t top = bfloat16_bits(v);
        bytes.append(reinterpret_cast<const char*>(&top), 2);
      }
    } else {
      Tensor scales;
      bytes = int8_bytes(name, t, scales);
      const std::string companion = name + ".scale";
      if (tensors.contains(companion))
        throw Error(fmt::format("'{}' is a tensor already: '{}' cannot be stored as int8",
                                companion, name));
      out_tensors[companion] = {"F32", scales.shape(),
                                std::string(reinterpret_cast<const char*>(scales.data()),
                                            std::size_t(scales.numel()) * sizeof(float))};
    }
    out_tensors[name] = {dtype, t.shape(), std::move(bytes)};
  }
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const auto& [name, t] : out_tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", std::vector<int64_t>(t.shape.dims().begin(), t.shape.dims().end())},
                    {"data_offsets", {at, at + t.bytes.size()}}};
    at += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  out += text;
  for (const auto& [name, t] : out_tensors) out += t.bytes;
  return out;
}

void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const Metadata& metadata, const Dtypes& stored) {
  const std::string bytes = serialize_safetensors(tensors, metadata, stored);
  write_atomically(
      path, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
}

}  // namespace rnngraph::io
