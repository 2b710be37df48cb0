// Everything in ember::nn: modules, layers, functions, init and checkpoints.
#pragma once

#include <ember/nn/checkpoint.h>
#include <ember/nn/flatten.h>
#include <ember/nn/functional/linear.h>
#include <ember/nn/init.h>
#include <ember/nn/linear.h>
#include <ember/nn/module.h>
#include <ember/nn/sequential.h>
// Activations, softmax and losses (modules and functions), from their own headers.
#if __has_include(<ember/nn/activation.h>)
#include <ember/nn/activation.h>
#endif
#if __has_include(<ember/nn/loss.h>)
#include <ember/nn/loss.h>
#endif
#if __has_include(<ember/nn/adaptive.h>)
#include <ember/nn/adaptive.h>
#endif
#if __has_include(<ember/nn/functional.h>)
#include <ember/nn/functional.h>
#endif
