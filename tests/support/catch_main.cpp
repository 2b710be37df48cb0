#define CATCH_CONFIG_MAIN
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
