/// \file
/// ember::distributed: a process group over MPI (one process per rank, launched by mpirun), with
/// the collectives data-parallel training needs.
///
/// \code
///   int main(int argc, char** argv) {
///     ember::distributed::init(&argc, &argv);
///     Tensor t = ones({4});
///     ember::distributed::all_reduce(t, ReduceOp::Sum);  // every rank now holds N * ones
///     ember::distributed::finalize();
///   }
/// \endcode
///
/// Run with `mpirun -np N program`. Every rank must call the same collectives in the same order
/// with tensors of the same dtype and shape (checked: a mismatch throws on every rank, naming the
/// ranks and shapes). Tensors are float32 or int64, contiguous.
///
/// Errors: MPI runs with MPI_ERRORS_RETURN on ember's communicator, and every failed MPI call
/// throws ember::Error naming the rank, the operation and MPI's message:
///   "all_reduce (rank 1 of 2): MPI error MPI_ERR_TRUNCATE: message truncated".
/// A collective that waits longer than timeout() seconds for the other ranks (a rank died, hangs,
/// or skipped the call) throws ember::Error "... timed out after 300 s ...". After such an error
/// the group is broken: finalize() then aborts the whole job (MPI_Abort) instead of waiting for
/// ranks that will never come; a rank that dies outright makes mpirun end the others.
#pragma once

#include <cstdint>

#include <ember/core/tensor.h>

namespace ember::distributed {

/// How all_reduce() combines the ranks' tensors.
enum class ReduceOp {
  Sum,  ///< Element-wise sum over the ranks, in rank order.
  Mean  ///< The sum divided by N (float32 only).
};

/// Options of init().
struct InitOptions {
  /// Seconds a collective may wait for the other ranks before it throws (watchdog). The
  /// EMBER_DISTRIBUTED_TIMEOUT environment variable, when set, overrides it.
  double timeout_seconds = 300.0;
};

/// Initializes MPI (if the program has not) and the process group.
///
/// Call once, before any other function here; argc/argv may be null.
/// \throws ember::Error if already initialized, if the timeout (or EMBER_DISTRIBUTED_TIMEOUT)
///   is not a positive number of seconds, or if MPI cannot start.
void init(int* argc = nullptr, char*** argv = nullptr, InitOptions options = {});
/// True between init() and finalize().
bool is_initialized();
/// Ends the group and MPI (if init() started it), waiting for no one.
///
/// After a failed collective it calls MPI_Abort instead, which ends every rank of the job.
/// Does nothing when not initialized.
void finalize();
/// Ends every rank of the job now (MPI_Abort), e.g. after an error on one rank.
[[noreturn]] void abort(int exit_code);

/// This process's rank: 0 .. world_size() - 1 (0 before init()).
int rank();
/// N, the number of ranks (1 before init()).
int world_size();
/// The collectives' timeout in seconds (see InitOptions).
double timeout();
/// Sets the collectives' timeout.
/// \throws ember::Error unless `seconds` is positive and finite.
void set_timeout(double seconds);

/// In place: every rank's t becomes the element-wise sum (or mean) of all ranks' t.
///
/// t is float32 or int64 of any shape [*], contiguous, the same on every rank.
/// float32: Note [Deterministic all-reduce] -- the sum runs in rank order (t_0 + t_1) + t_2 ...,
/// the same on every rank and in every run, whatever MPI's algorithm; mean divides that sum by N.
/// int64: exact; Mean is refused (no integer mean). As torch.distributed.all_reduce with SUM (AVG
/// for Mean), but in a fixed order.
/// \throws ember::Error (on every rank) on a dtype or shape mismatch across ranks, for int64
///   with Mean, an undefined, non-contiguous or other-dtype t, before init(), on an MPI error or
///   after the timeout.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// Sum across ranks of one number per rank, added in rank order (metrics: a loss sum, counts).
/// \throws ember::Error before init(), on an MPI error or after the timeout.
double all_reduce_sum(double value);
/// \overload
std::int64_t all_reduce_sum(std::int64_t value);

/// In place: every rank's t (float32 or int64 [*], contiguous) becomes root's t.
/// \throws ember::Error if root is not a rank, and as all_reduce() for t.
void broadcast(Tensor& t, int root = 0);
/// Returns when every rank has called it.
/// \throws ember::Error before init(), on an MPI error or after the timeout.
void barrier();
/// [S...] on each rank -> [N, S...] on every rank, row r from rank r (float32 or int64).
/// \throws ember::Error as all_reduce() for t, or if the result would exceed MPI's int count.
Tensor all_gather(const Tensor& t);

}  // namespace ember::distributed
