// --distributed without MPI: ember was built without ember::distributed (see mpi_training.h).
#include "mpi_training.h"

namespace app::mpi {

void init(int*, char***) {
  throw UsageError(
      "--distributed needs ember built with MPI (apt-get install libopenmpi-dev openmpi-bin, "
      "then reconfigure and rebuild)");
}
bool enabled() {
  return false;
}
bool is_root() {
  return true;
}
int rank() {
  return 0;
}
int run_guarded(const std::function<int()>& body) {
  return body();
}
void mute_outputs(Settings&) {}
void wrap(ember::nn::Module&) {}
void average_buffers(ember::nn::Module&) {}
ember::datasets::DataLoader train_loader(const ember::datasets::ImageDataset& data,
                                         ember::datasets::DataLoaderOptions options) {
  return ember::datasets::DataLoader(data, options);
}
ember::datasets::DataLoader test_loader(const ember::datasets::ImageDataset& data,
                                        std::int64_t batch_size) {
  return ember::datasets::DataLoader(data, {.batch_size = batch_size});
}
double sum(double value) {
  return value;
}
std::int64_t sum(std::int64_t value) {
  return value;
}
void sum(std::vector<std::vector<std::int64_t>>&) {}
std::vector<std::int64_t> gather_in_order(const std::vector<std::int64_t>& shard, std::int64_t) {
  return shard;
}

}  // namespace app::mpi
