// <ember/version.h>: generated from project(ember VERSION ...), its macros agree with each other.
#include <catch2/catch.hpp>

#include <ember/version.h>

#include <string>

TEST_CASE("version: the string is MAJOR.MINOR.PATCH and EMBER_VERSION orders it",
          "[core][version]") {
  const std::string want = std::to_string(EMBER_VERSION_MAJOR) + "." +
                           std::to_string(EMBER_VERSION_MINOR) + "." +
                           std::to_string(EMBER_VERSION_PATCH);
  CHECK(std::string(EMBER_VERSION_STRING) == want);
  CHECK(EMBER_VERSION ==
        EMBER_VERSION_MAJOR * 10000 + EMBER_VERSION_MINOR * 100 + EMBER_VERSION_PATCH);
  STATIC_REQUIRE(EMBER_VERSION_MINOR < 100);
  STATIC_REQUIRE(EMBER_VERSION_PATCH < 100);
}
