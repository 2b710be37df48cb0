// Skipping a test case that cannot run here (a tool or a data set is not installed) by its return
// code, never by a pattern in its output: an output pattern would also turn a failed run into a
// skipped one. CTest runs each case alone (catch_discover_tests) and reports exit code
// kSkipReturnCode as skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt).
//
//   TEST_CASE("to_dot: rendered by Graphviz") {
//     if (!test::available_or_skip(has_dot(), "Graphviz's dot is not installed")) return;
//     ...assertions...
//   }
#pragma once

#include <cstddef>
#include <string>

namespace ember::test {

inline constexpr int kSkipReturnCode = 4;

// Call first in a test case, before any assertion: true when `available`. Otherwise the case is
// skipped. Run alone (as CTest runs each case), it prints "SKIPPED: <why>" and ends the process
// with kSkipReturnCode; run among other cases (the whole program, by hand) it WARNs and returns
// false, and the caller returns without asserting. Called after the case has made an assertion,
// it fails the case instead: the skip is decided before any check, so it can never hide one.
bool available_or_skip(bool available, const std::string& why);

// True when `command` is found on PATH (`command -v`).
bool have_command(const std::string& command);

// For tests/support/catch_main.cpp: how many test cases this run selected, and how many
// assertions the running case has made so far.
void set_cases_in_run(std::size_t count);
void count_assertion();
void reset_case_assertions();

}  // namespace ember::test
