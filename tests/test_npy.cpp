// .npy read/write: round trips, numpy's own files, and malformed files.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.h"

using namespace rnngraph;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) { return rnngraph::testing::scratch_dir("npy") / name; }

std::string npy_bytes(const std::string& header_dict, std::size_t data_bytes) {
  return rnngraph::testing::npy_file(header_dict, std::string(data_bytes, '\0'));
}

void expect_format_error(const std::string& bytes, const std::string& fragment) {
  try {
    io::parse_npy(bytes, "test.npy");
    BOOST_ERROR("no FormatError for " << fragment);
  } catch (const FormatError& e) {
    BOOST_CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos, e.what());
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(round_trip_every_rank) {
  for (const Shape& s : {Shape{5}, Shape{2, 3}, Shape{3, 1, 2}, Shape{2, 1, 2, 2}}) {
    const Tensor t = init::normal(0, 1, 9).tensor(s);
    const fs::path p = scratch("rt.npy");
    io::write_npy(p, t);
    const Tensor back = io::read_npy(p);
    rnngraph::testing::check_close(back, t, 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(reads_numpys_own_files) {
  // Written by numpy (make_seed_rnn.py): the seed example's x is [3, 1, 2].
  const Tensor x = io::read_npy(rnngraph::testing::fixture("seed_rnn_seed_x.npy"));
  BOOST_CHECK(x.shape() == Shape({3, 1, 2}));
}

BOOST_AUTO_TEST_CASE(malformed_files_are_format_errors) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  BOOST_CHECK_NO_THROW(io::parse_npy(npy_bytes(good, 24), "ok"));
  expect_format_error("not numpy", "bad magic");
  expect_format_error(npy_bytes(good, 24).substr(0, 9), "bad magic");
  expect_format_error(npy_bytes(good, 20), "needs 24 bytes");  // truncated data
  expect_format_error(npy_bytes(good, 28), "needs 24 bytes");  // trailing garbage
  std::string huge = npy_bytes(good, 24);
  huge[8] = '\xff', huge[9] = '\xff';
  expect_format_error(huge, "past the end");
  expect_format_error(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48),
                      "'<f8'");
  expect_format_error(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24),
                      "'>f4'");
  expect_format_error(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24),
                      "Fortran");
  expect_format_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4),
                      "rank");
  expect_format_error(
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 4), "rank");
  expect_format_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8),
                      "malformed shape");
  expect_format_error(npy_bytes("{'fortran_order': False, 'shape': (2,), }", 8), "descr");
  std::string v9 = npy_bytes(good, 24);
  v9[6] = 9;
  expect_format_error(v9, "version");
  BOOST_CHECK_THROW(io::read_npy(scratch("does-not-exist.npy")), FormatError);
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_nothing) {
  const fs::path dir = scratch("no-such-dir") / "sub";
  BOOST_CHECK_THROW(io::write_npy(dir / "y.npy", Tensor({2})), Error);
  BOOST_CHECK(!fs::exists(dir));
  // Writing over an existing file replaces it whole and leaves no temporary behind.
  const fs::path p = scratch("replace.npy");
  io::write_npy(p, Tensor({2}, {1, 2}));
  io::write_npy(p, Tensor({3}, {3, 4, 5}));
  BOOST_CHECK(io::read_npy(p).shape() == Shape({3}));
  for (const auto& entry : fs::directory_iterator(p.parent_path()))
    BOOST_CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
