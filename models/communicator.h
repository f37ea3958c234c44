// The processes of a data-parallel run, as the trainer sees them: who this one is, and the
// collectives it needs (MPI's allreduce, broadcast and allgather). Every process calls each
// collective in the same order with the same sizes.
//
// The library knows no MPI: rnngraph::mpi (models/mpi_communicator.h) implements this over MPI,
// and a null communicator in TrainConfig is one process alone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rnngraph::models {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1; 0 logs and saves
  virtual int size() const = 0;
  // Sums `values` element by element over every process, in place, on every process.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // Process 0's `values` into every process's.
  virtual void broadcast(std::span<float> values) = 0;
  // Every process's `mine` (sizes may differ), concatenated in rank order, on every process.
  virtual std::vector<float> gather(std::span<const float> mine) = 0;
};

// The share of `count` items (rows of a batch, streams of a text) that process `rank` of `size`
// takes: a contiguous block, the blocks' sizes differing by at most one.
struct Share {
  int64_t begin = 0, count = 0;
};
inline Share share_of(int64_t count, int rank, int size) {
  const int64_t begin = count * rank / size, end = count * (rank + 1) / size;
  return {begin, end - begin};
}

}  // namespace rnngraph::models
