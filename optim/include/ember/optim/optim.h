/// \file
/// Everything in ember::optim.
#pragma once

#include <ember/optim/checkpoint.h>
#include <ember/optim/sgd.h>

/// \namespace ember::optim
/// Optimizers, as torch.optim: SGD with momentum, its parameter groups and checkpoints.
