/// \file
/// ember::Error and EMBER_CHECK: how every user mistake is reported.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

/// Thrown for every user mistake (bad shape, dtype, value, file).
///
/// The message names the op, the values involved and the rule broken, e.g. "matmul: shapes
/// [256, 784] and [785, 10] cannot be multiplied". Catch it as a std::runtime_error or as
/// ember::Error; what() gives the message.
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

/// Throws ember::Error with the message parts (`...`, anything `operator<<` prints) streamed
/// together when `cond` is false, building the message only then, as PyTorch's TORCH_CHECK.
///
/// `EMBER_CHECK(a.dim() == 2, "mm: expected a 2-d tensor, got shape ", a.sizes());`
#define EMBER_CHECK(cond, ...)                                            \
  do {                                                                    \
    if (!(cond)) [[unlikely]]                                             \
      ::ember::detail::throw_error(::ember::detail::concat(__VA_ARGS__)); \
  } while (false)
