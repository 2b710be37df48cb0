// ember::distributed: a process group over MPI (one process per rank, launched by mpirun), with
// the collectives data-parallel training needs.
//
//   int main(int argc, char** argv) {
//     ember::distributed::init(&argc, &argv);
//     Tensor t = ones({4});
//     ember::distributed::all_reduce(t, ReduceOp::Sum);  // every rank now holds N * ones
//     ember::distributed::finalize();
//   }
//
// Run with `mpirun -np N program`. Every rank must call the same collectives in the same order
// with tensors of the same dtype and shape (checked: a mismatch throws on every rank, naming the
// ranks and shapes). Tensors are float32 or int64, contiguous.
//
// Errors: MPI runs with MPI_ERRORS_RETURN on ember's communicator, and every failed MPI call
// throws ember::Error naming the rank, the operation and MPI's message:
//   "all_reduce (rank 1 of 2): MPI error MPI_ERR_TRUNCATE: message truncated".
// A collective that waits longer than timeout() seconds for the other ranks (a rank died, hangs,
// or skipped the call) throws ember::Error "... timed out after 300 s ...". After such an error
// the group is broken: finalize() then aborts the whole job (MPI_Abort) instead of waiting for
// ranks that will never come; a rank that dies outright makes mpirun end the others.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::distributed {

enum class ReduceOp { Sum, Mean };

struct InitOptions {
  // Seconds a collective may wait for the other ranks before it throws (watchdog). The
  // EMBER_DISTRIBUTED_TIMEOUT environment variable, when set, overrides it.
  double timeout_seconds = 300.0;
};

// Initializes MPI (if the program has not) and the process group. Call once, before any other
// function here; argc/argv may be null. Throws ember::Error if MPI cannot start.
void init(int* argc = nullptr, char*** argv = nullptr, InitOptions options = {});
bool is_initialized();
// Waits for no one: ends the group and MPI (if init() started it). After a failed collective it
// calls MPI_Abort instead, which ends every rank of the job.
void finalize();
// Ends every rank of the job now (MPI_Abort), e.g. after an error on one rank.
[[noreturn]] void abort(int exit_code);

int rank();        // 0 .. world_size() - 1
int world_size();  // N
double timeout();  // seconds (see InitOptions)
void set_timeout(double seconds);

// In place: every rank's t becomes the element-wise sum (or mean) of all ranks' t.
// float32: Note [Deterministic all-reduce] -- the sum runs in rank order (t_0 + t_1) + t_2 ...,
// the same on every rank and in every run, whatever MPI's algorithm; mean divides that sum by N.
// int64: exact; Mean is refused (no integer mean). Throws on dtype/shape mismatch across ranks.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
// Sum across ranks of one number per rank, added in rank order (metrics: a loss sum, counts).
double all_reduce_sum(double value);
std::int64_t all_reduce_sum(std::int64_t value);

// In place: every rank's t becomes root's t. Throws if root is not a rank.
void broadcast(Tensor& t, int root = 0);
// Returns when every rank has called it.
void barrier();
// [S...] on each rank -> [N, S...] on every rank, row r from rank r.
Tensor all_gather(const Tensor& t);

}  // namespace ember::distributed
