// Runs a template lambda for the C++ type of a dtype: dispatch(t.dtype(), [&]<class T>() {...}).
#pragma once

#include <cstdint>

#include <ember/core/dtype.h>

namespace ember::detail {

template <class F>
decltype(auto) dispatch(Dtype dtype, F&& f) {
  switch (dtype) {
    case kInt64:
      return f.template operator()<std::int64_t>();
    case kUInt8:
      return f.template operator()<std::uint8_t>();
    case kFloat32:
      break;
  }
  return f.template operator()<float>();
}

}  // namespace ember::detail
