// Names for custom autograd functions' nodes.
#include <ember/autograd/function.h>

#include <cxxabi.h>

#include <cstdlib>

namespace ember::autograd::detail {

std::string backward_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);  // NOLINT: allocated by __cxa_demangle with malloc
  const std::size_t colon = name.rfind("::", name.find('<'));
  if (colon != std::string::npos) name = name.substr(colon + 2);
  return name + "Backward";
}

}  // namespace ember::autograd::detail
