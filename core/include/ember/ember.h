// Everything in ember: tensors, autograd, layers and losses, optimizers, datasets.
#pragma once

#include <ember/autograd/engine.h>
#include <ember/autograd/grad_mode.h>
#include <ember/autograd/gradcheck.h>
#include <ember/core/cpu.h>
#include <ember/core/error.h>
#include <ember/core/generator.h>
#include <ember/core/ops.h>
#include <ember/core/parallel.h>
#include <ember/core/tensor.h>
#include <ember/datasets/datasets.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>
