#include "support/skip.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>

namespace ember::test {

namespace {

std::size_t cases_in_run = 0;
std::size_t case_assertions = 0;

}  // namespace

void set_cases_in_run(std::size_t count) {
  cases_in_run = count;
}

void count_assertion() {
  ++case_assertions;
}

void reset_case_assertions() {
  case_assertions = 0;
}

bool have_command(const std::string& command) {
  const std::string probe = "command -v '" + command + "' > /dev/null 2>&1";
  return std::system(probe.c_str()) == 0;
}

bool available_or_skip(bool available, const std::string& why) {
  if (available) return true;
  if (case_assertions != 0)
    FAIL("skip decided after " << case_assertions << " assertion(s) (" << why
                               << "): call available_or_skip before the first check");
  if (cases_in_run == 1) {
    std::cout << "SKIPPED: " << why << std::endl;
    std::exit(kSkipReturnCode);
  }
  WARN("SKIPPED: " << why << " (run this case alone, as CTest does, to see it reported skipped)");
  return false;
}

}  // namespace ember::test
