// The processes `mpirun` started, as a Communicator over MPI_COMM_WORLD (Debian's OpenMPI).
// A library of its own, rnngraph::mpi, so that only its users link MPI.
#pragma once

#include <memory>

#include <rnngraph/models/communicator.h>

namespace rnngraph::models {

// Whether this process was started by mpirun (or another MPI launcher): without one, a run is
// one process alone and MPI is never initialised.
bool launched_by_mpi();

// MPI_COMM_WORLD, initialising MPI on first use (finalised at exit). nullptr when
// launched_by_mpi() is false.
std::shared_ptr<Communicator> mpi_world();

// The processes mpirun started on this machine (1 without a launcher): they share its cores.
int local_processes();

// Ends every process of the run with `code` after an error that only this one met (the others
// would wait for it in a collective forever).
[[noreturn]] void mpi_abort(int code);

}  // namespace rnngraph::models
