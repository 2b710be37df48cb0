// ember::Error and EMBER_CHECK: how every user mistake is reported.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

// Thrown for every user mistake (bad shape, dtype, value, file). The message names the op, the
// values involved and the rule broken, e.g. "matmul: shapes [256, 784] and [785, 10] cannot be
// multiplied".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
[[noreturn]] void throw_error(const std::string& message);
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, parts...): throws ember::Error with the parts streamed together, building the
// message only when the check fails.
#define EMBER_CHECK(cond, ...)                                            \
  do {                                                                    \
    if (!(cond)) [[unlikely]]                                             \
      ::ember::detail::throw_error(::ember::detail::concat(__VA_ARGS__)); \
  } while (false)
