// JSON for the app (metrics lines and the checkpoint sidecar) through nlohmann-json: objects keep
// their keys in the order written (ordered_json), integers stay integers (every int64 and
// uint64, e.g. the seed 2^53 + 1, exactly), floats stay floats in the shortest form that reads
// back to the same double (0.0, not 0), and a non-finite float is written as null.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace app::json {

using Json = nlohmann::ordered_json;

// Typed reads from a parsed object, for a sidecar: each throws std::runtime_error naming the key
// when it is missing or of another type.
const Json& at(const Json& object, const std::string& key);
std::int64_t get_int(const Json& object, const std::string& key);  // an integer, not 1.0
std::uint64_t get_uint64(const Json& object, const std::string& key);
double get_number(const Json& object, const std::string& key);  // null reads as NaN
const std::string& get_string(const Json& object, const std::string& key);

// Parses one document; throws std::runtime_error with the parser's reason (and byte offset).
Json parse(const std::string& text);

// A double for people: the shortest form that reads back the same; nan, inf, -inf as such.
std::string number(double value);

// Now as ISO 8601 UTC, to the second: "2026-12-01T03:04:05Z".
std::string utc_timestamp();

}  // namespace app::json
