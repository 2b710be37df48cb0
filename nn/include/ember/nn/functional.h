/// \file
/// ember::nn::functional: every differentiable function of the nn module (torch.nn.functional).
#pragma once

#include <ember/nn/functional/activation.h>
// Convolution and pooling (issue 19).
#include <ember/nn/functional/conv.h>
#include <ember/nn/functional/pooling.h>
// End of convolution and pooling.
#include <ember/nn/functional/linear.h>
#include <ember/nn/functional/loss.h>

// Dropout and batch normalization (issue 19).
#include <ember/nn/functional/batchnorm.h>
#include <ember/nn/functional/dropout.h>

/// \namespace ember::nn::functional
/// Every differentiable function of the nn module, as torch.nn.functional: activations, the
/// softmax family, linear and the losses.
