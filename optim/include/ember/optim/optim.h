/// \file
/// Everything in ember::optim.
#pragma once

#include <ember/optim/adam.h>
#include <ember/optim/checkpoint.h>
#include <ember/optim/lr_scheduler.h>
#include <ember/optim/optimizer.h>
#include <ember/optim/sgd.h>

/// \namespace ember::optim
/// Optimizers, as torch.optim: SGD with momentum, Adam and AdamW, their parameter groups and
/// checkpoints, and the learning-rate schedulers StepLR and CosineAnnealingLR.
