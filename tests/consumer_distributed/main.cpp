// Links ember::distributed from the installed package and runs it: before init() the process
// group is a world of one rank, and DistributedDataParallel refuses to start without init().
#include <ember/distributed/ddp.h>
#include <ember/distributed/process_group.h>
#include <ember/nn/nn.h>

#include <iostream>

int main() {
  namespace dist = ember::distributed;
  ember::nn::Linear net(2, 1);
  try {
    dist::DistributedDataParallel ddp(net);
    return 1;
  } catch (const ember::Error& e) {
    std::cout << "ember::distributed: rank " << dist::rank() << " of " << dist::world_size()
              << "; without init(): " << e.what() << "\n";
  }
  return dist::world_size() == 1 ? 0 : 1;
}
