// printf-style formatting into a std::string, for the app's tables and pictures.
#pragma once

#include <cstdio>
#include <string>

namespace app {

// Formats like snprintf; output beyond 512 characters is cut (every use is one short cell).
std::string format(const char* fmt, auto... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, fmt, args...);
  return buffer;
}

}  // namespace app
