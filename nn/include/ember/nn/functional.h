// ember::nn::functional: every differentiable function of the nn module (torch.nn.functional).
#pragma once

#include <ember/nn/functional/activation.h>
#include <ember/nn/functional/linear.h>
#include <ember/nn/functional/loss.h>
