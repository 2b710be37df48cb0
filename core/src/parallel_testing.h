// Test seams of the thread pool (core/src/parallel.cpp): not part of the installed API.
#pragma once

namespace ember::detail {

// Stops the pool's workers; from then on creating a worker fails with std::system_error (EAGAIN)
// once `workers` exist, as a system out of threads does. A negative count removes the limit.
// Note [A thread count the system cannot give] in parallel.cpp.
void fail_thread_creation_after(int workers);
// The number of pool workers running now (the caller of a job is not one of them).
int pool_workers();

}  // namespace ember::detail
