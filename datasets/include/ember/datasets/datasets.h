/// \file
/// Everything in ember's datasets module: IDX files, MNIST / Fashion-MNIST, and the DataLoader.
#pragma once

#include <ember/datasets/dataloader.h>
#include <ember/datasets/idx.h>
#include <ember/datasets/mnist.h>

/// \namespace ember::datasets
/// Datasets, as torchvision.datasets and torch.utils.data: IDX files, MNIST and Fashion-MNIST,
/// and the DataLoader with its Sampler.
