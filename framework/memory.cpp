#include <rnngraph/framework/memory.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#include <fmt/format.h>

namespace rnngraph::memory {

namespace {
constexpr std::size_t kAlignment = 64;
std::atomic<std::size_t> configured{0};  // 0: the default
std::atomic<std::size_t> used{0};

// A byte count with the unit that reads best: 1432 bytes, 512.0 KiB, 3.2 MiB, 1.5 GiB.
std::string bytes_text(std::size_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) value /= 1024, ++unit;
  return fmt::format("{} bytes ({:.1f} {})", bytes, value, units[unit]);
}
}  // namespace

std::size_t default_limit() {
  static const std::size_t value = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    std::size_t total = pages > 0 && page > 0 ? std::size_t(pages) * std::size_t(page) : 0;
    auto lower = [&](std::size_t bound) { total = total ? std::min(total, bound) : bound; };
    rlimit as{};
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) lower(as.rlim_cur);
    // A container's memory (cgroup v2 memory.max, "max" when unlimited): the OOM killer's
    // bound there.
    std::ifstream cgroup("/sys/fs/cgroup/memory.max");
    unsigned long long cap = 0;
    if (cgroup >> cap && cap > 0) lower(std::size_t(cap));
    return total ? total / 4 * 3 : std::size_t(-1);
  }();
  return value;
}

std::size_t limit() {
  const std::size_t set = configured.load();
  return set ? set : default_limit();
}

void set_limit(std::size_t bytes) { configured.store(bytes); }

std::size_t in_use() { return used.load(); }

namespace {
[[noreturn]] void refuse(std::size_t bytes, std::size_t cap, std::size_t in_use,
                         const std::function<std::string()>& what) {
  throw MemoryError(
      fmt::format("{} needs {}, over the memory limit of {} ({} in use; --max-memory raises it)",
                  what(), bytes_text(bytes), bytes_text(cap), bytes_text(in_use)));
}
}  // namespace

void require(std::size_t bytes, const std::function<std::string()>& what) {
  const std::size_t cap = limit(), now = used.load();
  if (bytes > cap || now > cap - bytes) refuse(bytes, cap, now, what);
}

std::shared_ptr<float> allocate(std::size_t bytes, const std::function<std::string()>& what) {
  const std::size_t cap = limit();
  if (bytes > cap || bytes > std::size_t(-1) - kAlignment) refuse(bytes, cap, used.load(), what);
  const std::size_t rounded =
      std::max((bytes + kAlignment - 1) / kAlignment * kAlignment, kAlignment);
  std::size_t before = used.load();
  do {
    if (rounded > cap || before > cap - rounded) refuse(bytes, cap, before, what);
  } while (!used.compare_exchange_weak(before, before + rounded));
  auto release = [rounded](float* q) {
    std::free(q);
    used -= rounded;
  };
  std::unique_ptr<float, decltype(release)> p(
      static_cast<float*>(std::aligned_alloc(kAlignment, rounded)), release);
  if (!p) {
    used -= rounded;
    throw MemoryError(fmt::format("{} needs {}: the system has no memory left for it", what(),
                                  bytes_text(bytes)));
  }
  std::memset(p.get(), 0, rounded);
  return std::shared_ptr<float>(std::move(p));  // the deleter moves with it
}

}  // namespace rnngraph::memory
