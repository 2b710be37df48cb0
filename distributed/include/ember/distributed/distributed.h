// Data-parallel training over MPI: the process group, DistributedDataParallel, and
// DistributedSampler. Link ember::distributed (built when CMake finds MPI).
#pragma once

#include <ember/distributed/ddp.h>
#include <ember/distributed/process_group.h>
#include <ember/distributed/sampler.h>
