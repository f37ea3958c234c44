// NumPy .npy files: float32 ('<f4'), C order, rank 1 to 4. Anything else is a FormatError.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include <rnngraph/framework/tensor.h>

namespace rnngraph::io {

Tensor read_npy(const std::filesystem::path& path);
// Parses .npy bytes; `what` names the source in error messages.
Tensor parse_npy(std::string_view bytes, std::string_view what);
// Any of int32, int64, float32, float64 ('<i4', '<i8', '<f4', '<f8'), as doubles in C order:
// for small integer arrays such as per-sample lengths.
std::vector<double> read_npy_numbers(const std::filesystem::path& path);
std::vector<double> parse_npy_numbers(std::string_view bytes, std::string_view what);

// Any of those four dtypes with its shape, as float32, and whether the file held integers (class
// ids, token ids, lengths) or floats (features, regression targets). float64 rounds to the
// nearest float32; an integer beyond 2^24 in size, which float32 cannot hold exactly, is a
// FormatError.
struct NpyArray {
  Tensor values;
  bool integer = false;
  bool rounded = false;  // some float64 value was not a float32 and was rounded
};
NpyArray read_npy_array(const std::filesystem::path& path);
NpyArray parse_npy_array(std::string_view bytes, std::string_view what);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace rnngraph::io
