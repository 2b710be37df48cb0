// Everything in ember::optim.
#pragma once

#include <ember/optim/checkpoint.h>
#include <ember/optim/sgd.h>
