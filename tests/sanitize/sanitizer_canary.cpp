// Does one thing the sanitize build must stop, chosen by argv[1], then prints "survived".
// The inputs come from the command line so that the compiler cannot fold the bug away.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>

#include <ember/ember.h>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string what = argv[1];
  volatile std::int64_t big = std::numeric_limits<std::int64_t>::max() - (argc - 2);
  if (what == "signed-overflow") {
    volatile std::int64_t sum = big + static_cast<std::int64_t>(argc);  // INT64_MAX + 2
    std::cout << sum << "\n";
  } else if (what == "float-cast") {
    volatile double nan = std::strtod("nan", nullptr);
    volatile auto v = static_cast<std::int64_t>(nan);
    std::cout << v << "\n";
  } else if (what == "heap-overflow") {
    // One float past the end of a tensor's storage: the allocator must not hide it in slack.
    ember::Tensor t = ember::zeros({static_cast<std::int64_t>(argc + 1)});
    float* p = t.data_ptr<float>();
    p[argc + 1] = 1.0f;
    std::cout << p[0] << "\n";
  } else {
    return 2;
  }
  std::cout << "survived\n";
  return 0;
}
