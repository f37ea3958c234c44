// The loss curve of a training run as a small standalone SVG: iterations across, the loss on a
// log scale up the side (losses fall by decades), gridlines at each decade.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rnngraph::cli {

void write_loss_curve(const std::filesystem::path& path, const std::vector<float>& losses,
                      const std::string& title);

// The losses of a training log written by `rnngraph train --log` (CSV, loss in the last column).
std::vector<float> read_loss_log(const std::filesystem::path& path);

}  // namespace rnngraph::cli
