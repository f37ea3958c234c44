#include <rnngraph/models/mpi_communicator.h>

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include <rnngraph/framework/errors.h>

namespace rnngraph::models {

namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("{} failed: {}", call, std::string(text, std::size_t(length))));
}

// MPI counts are ints: a longer buffer goes in pieces.
template <class T, class Call>
void in_pieces(std::span<T> values, Call call) {
  for (std::size_t at = 0; at < values.size(); at += INT_MAX)
    call(values.data() + at, int(std::min<std::size_t>(values.size() - at, INT_MAX)));
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      // Only the calling thread makes MPI calls (the compute threads never do).
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (!finalised) MPI_Finalize();
      });
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> values) override {
    in_pieces(values, [](float* p, int n) {
      check(MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
  }
  void sum(std::span<double> values) override {
    in_pieces(values, [](double* p, int n) {
      check(MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    });
  }
  void broadcast(std::span<float> values) override {
    in_pieces(values, [](float* p, int n) {
      check(MPI_Bcast(p, n, MPI_FLOAT, 0, MPI_COMM_WORLD), "MPI_Bcast");
    });
  }
  std::vector<float> gather(std::span<const float> mine) override {
    if (mine.size() > std::size_t(INT_MAX)) throw Error("gather: over 2^31 values per process");
    std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(counts.size());
    const int count = int(mine.size());
    check(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD),
          "MPI_Allgather");
    long long total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (total > INT_MAX) throw Error("gather: over 2^31 values in all");
      offsets[r] = int(total);
      total += counts[r];
    }
    std::vector<float> all(static_cast<std::size_t>(total));
    check(MPI_Allgatherv(mine.data(), count, MPI_FLOAT, all.data(), counts.data(), offsets.data(),
                         MPI_FLOAT, MPI_COMM_WORLD),
          "MPI_Allgatherv");
    return all;
  }

 private:
  int rank_ = 0, size_ = 1;
};

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

bool launched_by_mpi() {
  // Open MPI's mpirun, and PMIx / PMI launchers (srun, hydra)
  return environment("OMPI_COMM_WORLD_SIZE") || environment("PMIX_RANK") || environment("PMI_RANK");
}

std::shared_ptr<Communicator> mpi_world() {
  if (!launched_by_mpi()) return nullptr;
  static const std::shared_ptr<Communicator> world = std::make_shared<MpiWorld>();
  return world;
}

int local_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"})
    if (const char* value = environment(name)) {
      const int n = std::atoi(value);
      if (n > 0) return n;
    }
  return 1;
}

void mpi_abort(int code) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace rnngraph::models
