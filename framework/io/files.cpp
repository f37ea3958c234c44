#include <rnngraph/framework/io/files.h>

#include <fstream>
#include <random>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>
#include <rnngraph/framework/memory.h>

namespace rnngraph::io {

std::string read_file(const std::filesystem::path& path) {
  // Only regular files: a folder, a pipe or /dev/zero is refused rather than read forever. The
  // size is checked against the memory limit before anything is read.
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error || !std::filesystem::exists(status))
    throw FormatError(fmt::format("cannot open {}: no such file", quote(path.string())));
  if (!std::filesystem::is_regular_file(status))
    throw FormatError(fmt::format("cannot read {}: not a regular file", quote(path.string())));
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw FormatError(fmt::format("cannot read {}", quote(path.string())));
  memory::require(std::size_t(size),
                  [&] { return fmt::format("reading {}", quote(path.string())); });
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(fmt::format("cannot open {}", quote(path.string())));
  std::string bytes(std::size_t(size), '\0');
  in.read(bytes.data(), std::streamsize(size));
  if (in.bad() || std::uintmax_t(in.gcount()) != size)
    throw FormatError(fmt::format("cannot read {}", quote(path.string())));
  return bytes;
}

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write) {
  std::random_device entropy;
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{:08x}", entropy());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(fmt::format("cannot write '{}'", path.string()));
      write(out);
      out.flush();
      if (!out) throw Error(fmt::format("writing '{}' failed", path.string()));
    }
    std::filesystem::rename(tmp, path);
  } catch (const std::filesystem::filesystem_error& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(fmt::format("cannot write '{}': {}", path.string(), e.code().message()));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

}  // namespace rnngraph::io
