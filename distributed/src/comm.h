// What the distributed sources share: ember's MPI communicator, MPI error translation, the
// watchdog wait, and the deterministic float all-reduce.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ember::distributed::detail {

// ember's communicator (a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN); throws naming `op`
// if init() has not run.
MPI_Comm comm(const char* op);
// A second duplicate, for step 4 of Note [Deterministic all-reduce] (see there why).
MPI_Comm gather_comm();
// "op (rank r of n)", the prefix of every message.
std::string where(const char* op);
// "op (rank r of n): MPI error <code>: <MPI's class name and text>".
std::string mpi_error_message(int code, const char* op);
// Throws ember::Error with mpi_error_message and marks the group broken.
[[noreturn]] void throw_mpi_error(int code, const char* op);
inline void check_mpi(int code, const char* op) {
  if (code != MPI_SUCCESS) [[unlikely]]
    throw_mpi_error(code, op);
}
// Marks the group broken: finalize() will abort the job rather than wait for lost ranks.
void mark_broken();
// True when the request has completed (then it is MPI_REQUEST_NULL); drives MPI's progress.
bool test(MPI_Request& request, const char* op);
// Waits for the request, throwing ember::Error after timeout() seconds (the watchdog).
void wait(MPI_Request& request, const char* op);

// Note [Deterministic all-reduce]
// MPI_Allreduce may add the ranks' values in any order (the order depends on the algorithm MPI
// picks for the message size and world size), so a float sum could change with the MPI version
// or its tuning. ember fixes the order itself, on top of MPI's nonblocking collectives:
//   1. split the buffer into N contiguous chunks; chunk j is rank j's to reduce;
//   2. MPI_Ialltoallv: every rank sends chunk j to rank j (reduce-scatter, done by hand);
//   3. rank j adds the N copies of its chunk in rank order, ((x_0 + x_1) + x_2) + ...,
//      then divides by N for a mean;
//   4. MPI_Iallgatherv: every rank receives every reduced chunk.
// Each rank sends and receives (N-1)/N of the buffer in each of steps 2 and 4, the bandwidth of a
// ring all-reduce, 2 (N-1)/N * bytes. The result is bitwise the same on every rank, in every
// run, at any thread count, for a given N.
// MPI requires every rank to start the collectives of a communicator in the same order. Several
// buffers may be in flight (DDP's buckets) and each rank sees step 2 finish at its own time, so
// step 4 runs on a second communicator (gather_comm), and a buffer's step 4 starts only after the
// step 4 of every buffer started before it (the caller advances buffers in order and stops at
// the first one still in step 2).
class OrderedAllReduce {
 public:
  OrderedAllReduce() = default;
  OrderedAllReduce(const OrderedAllReduce&) = delete;
  OrderedAllReduce& operator=(const OrderedAllReduce&) = delete;
  ~OrderedAllReduce();

  // Starts reducing data[0, count) in place; data must stay valid until done.
  void start(float* data, std::int64_t count, bool mean, const char* op);
  // Advances without blocking; true once the result is in data. Call it on the buffers in flight
  // in the order they were started, stopping at the first that is still scattering().
  bool progress();
  bool scattering() const { return phase_ == Phase::Scatter; }
  // Blocks (with the watchdog) until the result is in data.
  void wait();
  bool active() const { return phase_ != Phase::Idle; }

 private:
  enum class Phase { Idle, Scatter, Gather };
  void reduce_and_gather();

  Phase phase_ = Phase::Idle;
  float* data_ = nullptr;
  bool mean_ = false;
  const char* op_ = "";
  std::vector<int> counts_, displs_;            // chunk j: [displs_[j], displs_[j] + counts_[j])
  std::vector<int> recv_counts_, recv_displs_;  // my chunk from each rank, into scratch_
  std::vector<float> scratch_;                  // N copies of my chunk, rank 0's first
  MPI_Request request_ = MPI_REQUEST_NULL;
};

}  // namespace ember::distributed::detail
