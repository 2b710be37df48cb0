// Catch2's main for every test program. Under EMBER_CPU=<isa> (the CTest runs labelled isa), a
// CPU without that instruction set cannot run the forced path: the run is reported as skipped.
// An unknown EMBER_CPU fails the run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

// Under AddressSanitizer an allocation of exabytes must fail as malloc does (ember turns that into
// an ember::Error, which the tests check) instead of aborting the program. ASAN_OPTIONS in the
// environment still apply on top of this.
#if defined(__SANITIZE_ADDRESS__)
#define EMBER_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_TEST_ASAN 1
#endif
#endif
#ifdef EMBER_TEST_ASAN
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}
#endif

#include <cstdlib>
#include <iostream>
#include <string>

#include <ember/core/cpu.h>
#include <ember/core/error.h>

int main(int argc, char* argv[]) {
  if (std::getenv("EMBER_CPU") != nullptr) {
    try {
      ember::cpu_capability();
    } catch (const ember::Error& e) {
      const std::string message = e.what();
      if (message.find("does not support") == std::string::npos) {
        std::cerr << "error: " << message << "\n";
        return 1;
      }
      std::cout << "SKIPPED (EMBER_CPU): " << message << "\n";
      return 0;
    }
  }
  return Catch::Session().run(argc, argv);
}
