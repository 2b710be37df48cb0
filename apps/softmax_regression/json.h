// Just enough JSON for the app: writing metrics and the checkpoint sidecar, reading the sidecar
// back. Numbers are written in the shortest form that reads back to the same double
// (std::to_chars), so a resumed run continues from exactly the saved figures; integers are
// written and read back as integers (every int64 and uint64, e.g. the seed 2^53 + 1, exactly).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace app::json {

// Appends `"key": value` pairs to an object being written: {"a": 1, "b": "x"}.
class ObjectWriter {
 public:
  ObjectWriter& add(const std::string& key, double value);  // non-finite -> null
  ObjectWriter& add(const std::string& key, std::int64_t value);
  ObjectWriter& add(const std::string& key, std::uint64_t value);
  ObjectWriter& add(const std::string& key, int value) {
    return add(key, static_cast<std::int64_t>(value));
  }
  ObjectWriter& add(const std::string& key, const std::string& value);
  ObjectWriter& add(const std::string& key, const char* value) {
    return add(key, std::string(value));
  }
  ObjectWriter& add(const std::string& key, bool value);
  ObjectWriter& add_raw(const std::string& key, const std::string& json);  // already JSON
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(const std::string& k);
  std::string body_;
};

std::string quote(const std::string& s);  // a JSON string literal
std::string number(double value);         // shortest round-trip form; null if not finite
std::string number_text(double value);    // the same, but nan, inf and -inf for messages

// A parsed value. Objects keep their keys sorted (duplicates: the last wins).
struct Value {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double num = 0.0;
  std::string number_text;  // a number as written, so integers are read exactly
  std::string str;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  // Typed access for a sidecar: throws std::runtime_error naming the key when it is missing or
  // of another type.
  const Value& at(const std::string& key) const;
  double as_number(const std::string& what) const;
  // An integer written without fraction or exponent, in range: exact (no detour via double).
  std::int64_t as_int(const std::string& what) const;
  std::uint64_t as_uint64(const std::string& what) const;
  const std::string& as_string(const std::string& what) const;
};

// Parses one JSON document (RFC 8259, strict: no trailing commas or comments). Throws
// std::runtime_error with the byte offset of the problem.
Value parse(const std::string& text);

}  // namespace app::json
