// NumPy .npy files: float32 ('<f4'), C order, rank 1 to 4. Anything else is a FormatError.
#pragma once

#include <filesystem>
#include <string_view>

#include <rnngraph/framework/tensor.h>

namespace rnngraph::io {

Tensor read_npy(const std::filesystem::path& path);
// Parses .npy bytes; `what` names the source in error messages.
Tensor parse_npy(std::string_view bytes, std::string_view what);
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace rnngraph::io
