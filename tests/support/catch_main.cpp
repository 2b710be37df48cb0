// Catch2's main for every test program. Under EMBER_CPU=<isa> (the CTest runs labelled isa), a
// CPU without that instruction set cannot run the forced path: the run exits with
// test::kSkipReturnCode before any test runs, which CTest reports as skipped. An unknown
// EMBER_CPU fails the run. It also tells tests/support/skip.h how many cases the run selected and
// counts each case's assertions (a listener), so a skip is decided before any check.
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

#include "support/skip.h"

namespace {

// Counts the running case's assertions (a listener sees every one, passed or failed; messages
// such as WARN and INFO are not assertions).
struct AssertionCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    ember::test::reset_case_assertions();
    TestEventListenerBase::testCaseStarting(info);
  }
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    const auto type = stats.assertionResult.getResultType();
    if (type != Catch::ResultWas::Info && type != Catch::ResultWas::Warning)
      ember::test::count_assertion();
    return true;
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(AssertionCounter)

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
      return ember::test::kSkipReturnCode;
    }
  }
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const Catch::Config& config = session.config();
  ember::test::set_cases_in_run(
      Catch::filterTests(Catch::getAllTestCasesSorted(config), config.testSpec(), config).size());
  return session.run();
}
