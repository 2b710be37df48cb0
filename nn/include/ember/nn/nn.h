/// \file
/// Everything in ember::nn: modules, layers, activations, losses, functions, init and checkpoints.
#pragma once

#include <ember/nn/activation.h>
#include <ember/nn/adaptive.h>
#include <ember/nn/checkpoint.h>
// Convolution and pooling (issue 19).
#include <ember/nn/conv.h>
#include <ember/nn/pooling.h>
// End of convolution and pooling.
#include <ember/nn/flatten.h>
#include <ember/nn/functional.h>
#include <ember/nn/init.h>
#include <ember/nn/linear.h>
#include <ember/nn/loss.h>
#include <ember/nn/module.h>
#include <ember/nn/safetensors.h>
#include <ember/nn/sequential.h>

// Dropout and batch normalization (issue 19).
#include <ember/nn/batchnorm.h>
#include <ember/nn/dropout.h>

/// \namespace ember::nn
/// Neural-network building blocks, as torch.nn: Module (the base of every layer, a handle to
/// shared state), layers, activations, losses, containers, nn::functional and nn::init.
