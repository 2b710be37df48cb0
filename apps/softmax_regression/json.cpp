#include "json.h"

#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace app::json {

const Json& at(const Json& object, const std::string& key) {
  if (!object.is_object()) throw std::runtime_error("expected an object around '" + key + "'");
  auto it = object.find(key);
  if (it == object.end()) throw std::runtime_error("missing key '" + key + "'");
  return *it;
}

std::int64_t get_int(const Json& object, const std::string& key) {
  const Json& v = at(object, key);
  if (v.is_number_integer() && !(v.is_number_unsigned() &&
                                 v.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()))
    return v.get<std::int64_t>();
  throw std::runtime_error("'" + key + "' is not an integer in [-2^63, 2^63) (got " + v.dump() +
                           ")");
}

std::uint64_t get_uint64(const Json& object, const std::string& key) {
  const Json& v = at(object, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  throw std::runtime_error("'" + key + "' is not an integer in [0, 2^64) (got " + v.dump() + ")");
}

double get_number(const Json& object, const std::string& key) {
  const Json& v = at(object, key);
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) throw std::runtime_error("'" + key + "' is not a number");
  return v.get<double>();
}

const std::string& get_string(const Json& object, const std::string& key) {
  const Json& v = at(object, key);
  if (!v.is_string()) throw std::runtime_error("'" + key + "' is not a string");
  return v.get_ref<const std::string&>();
}

Json parse(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw std::runtime_error(std::string("JSON: ") + e.what());
  }
}

std::string number(double value) {
  return fmt::format("{}", value);
}

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

}  // namespace app::json
