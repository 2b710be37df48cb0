// CHECK_GRADCHECK(fn, inputs...): a Catch2 check that fn's analytic gradients match central
// differences (ember::autograd::gradcheck, default float32 tolerances), printing the worst
// element when they don't.
#pragma once

#include <catch2/catch.hpp>

#include <ember/autograd/gradcheck.h>

#define CHECK_GRADCHECK(fn, ...)                                   \
  do {                                                             \
    auto result = ::ember::autograd::gradcheck(fn, {__VA_ARGS__}); \
    INFO(result.message);                                          \
    CHECK(result.ok);                                              \
  } while (false)
