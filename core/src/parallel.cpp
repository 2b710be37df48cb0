#include <ember/core/parallel.h>

#include <ember/core/error.h>

namespace ember {

int get_num_threads() {
  return omp_get_max_threads();
}

void set_num_threads(int threads) {
  EMBER_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
  omp_set_num_threads(threads);
}

}  // namespace ember
