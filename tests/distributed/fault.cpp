// A rank that fails, run by CTest under mpirun to show that the others end cleanly and soon:
//   fault kill   rank 1 kills itself (SIGKILL) while rank 0 waits in an all_reduce: mpirun's
//                default abort-on-process-death ends rank 0 and reports the dead rank;
//   fault stall  rank 1 stops calling collectives (sleeps): rank 0's watchdog (timeout 2 s)
//                throws ember::Error naming the rank and the all_reduce, and finalize() aborts the
//                job, which ends rank 1 too.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include <ember/core/tensor.h>
#include <ember/distributed/process_group.h>

namespace dist = ember::distributed;

int main(int argc, char** argv) {
  dist::init(&argc, &argv, {.timeout_seconds = 2});
  const bool kill = argc > 1 && std::strcmp(argv[1], "kill") == 0;
  try {
    ember::Tensor t = ember::ones({1000});
    dist::all_reduce(t);  // everyone alive so far
    if (dist::rank() == 1) {
      if (kill) raise(SIGKILL);
      sleep(30);  // stalled: never reaches the barrier (bounded: CTest's timeout is longer)
    }
    if (kill) dist::set_timeout(60);  // the kill case must end by mpirun, not by the watchdog
    for (int step = 0; step < 1000; ++step) {
      dist::all_reduce(t);
      dist::barrier();
    }
    std::printf("rank %d: finished, which a fault test must not\n", dist::rank());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    dist::finalize();  // broken group: aborts the job
    return 1;
  }
  dist::finalize();
  return 0;
}
