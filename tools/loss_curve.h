// The loss curve of a training run as a small standalone SVG: iterations across, the loss on a
// log scale up the side (losses fall by decades), gridlines at each decade; the validation loss,
// when there is one, as points joined at the iterations where it was taken.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rnngraph::cli {

// A validation loss and the iteration (1-based) after which it was taken.
using ValidationLosses = std::vector<std::pair<int64_t, float>>;

void write_loss_curve(const std::filesystem::path& path, const std::vector<float>& losses,
                      const std::string& title, const ValidationLosses& validation = {});

// A training log written by `rnngraph train --log`: CSV with a header naming its columns; the
// training loss is the column "loss", one per iteration, and the validation loss the column
// "val_loss" where it is not empty.
struct LossLog {
  std::vector<float> losses;
  ValidationLosses validation;
};
LossLog read_loss_log(const std::filesystem::path& path);

}  // namespace rnngraph::cli
