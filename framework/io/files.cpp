#include <rnngraph/framework/io/files.h>

#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::io {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(fmt::format("cannot open '{}'", path.string()));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw FormatError(fmt::format("cannot read '{}'", path.string()));
  return std::move(s).str();
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
