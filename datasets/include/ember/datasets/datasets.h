// Everything in ember's datasets module: IDX files, MNIST / Fashion-MNIST, and the DataLoader.
#pragma once

#include <ember/datasets/dataloader.h>
#include <ember/datasets/idx.h>
#include <ember/datasets/mnist.h>
