// CSV for [T, I] sequences: one line per time step, comma-separated numbers, no header.
#pragma once

#include <filesystem>
#include <string_view>

#include <rnngraph/framework/tensor.h>

namespace rnngraph::io {

// A [rows, columns] tensor; every line must have the same number of fields.
Tensor read_csv(const std::filesystem::path& path);
Tensor parse_csv(std::string_view text, std::string_view what);
// Writes a rank-2 tensor, or a rank-3 one whose middle axis is 1 ([T, 1, H]), one row per line.
void write_csv(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace rnngraph::io
