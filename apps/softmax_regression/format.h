// printf-style formatting into a std::string, for the app's tables and pictures.
#pragma once

#include <fmt/printf.h>

#include <string>

namespace app {

// Formats like printf, through libfmt: the result has whatever length it needs (a fixed buffer
// once cut a 27-epoch chart's polyline short, leaving invalid SVG), and a conversion that does
// not fit its argument's type throws fmt::format_error instead of printing garbage.
template <class... Args>
std::string format(const char* spec, const Args&... args) {
  return fmt::sprintf(spec, args...);
}

}  // namespace app
