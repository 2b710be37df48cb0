// The distributed tests' main: the process group lives around Catch2's session, so every test
// case runs on every rank, in declaration order (the collectives must match across ranks).
// CTest runs this program under `mpirun -np 1|2|3` (tests/distributed/CMakeLists.txt).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <ember/distributed/process_group.h>

int main(int argc, char** argv) {
  // A test that hangs on a missing rank fails after 60 s instead of at CTest's timeout.
  ember::distributed::init(&argc, &argv, {.timeout_seconds = 60});
  const int failed = Catch::Session().run(argc, argv);
  ember::distributed::finalize();
  return failed;
}
