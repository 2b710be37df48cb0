/// \file
/// Whether ops record a graph: on by default, off inside a NoGradGuard. The flag itself is core's
/// (<ember/core/grad_mode.h>, as c10 keeps PyTorch's GradMode); this header is where autograd's
/// users have always found it.
#pragma once

#include <ember/core/grad_mode.h>
