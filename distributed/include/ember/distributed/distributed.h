/// \file
/// Data-parallel training over MPI: the process group, DistributedDataParallel, and
/// DistributedSampler. Link ember::distributed (built when CMake finds MPI).
#pragma once

#include <ember/distributed/ddp.h>
#include <ember/distributed/process_group.h>
#include <ember/distributed/sampler.h>

/// \namespace ember::distributed
/// Data-parallel training over MPI, as torch.distributed: the process group and its
/// collectives, DistributedDataParallel and DistributedSampler (library ember::distributed).
