// A flat JSON object for audit details, with correct string escaping (names
// of keys and organizations are user input).
#pragma once
#include "cpp_only.hpp"

#include <string>
#include <string_view>

namespace insight::core {

class JsonObject {
 public:
  JsonObject& Add(std::string_view name, std::string_view value);
  JsonObject& AddNumber(std::string_view name, long long value);
  JsonObject& AddBool(std::string_view name, bool value);
  JsonObject& AddRaw(std::string_view name, std::string_view json);  // value already JSON
  std::string Str() const { return body_ + "}"; }

 private:
  void Key(std::string_view name);
  std::string body_ = "{";
};

void AppendJsonString(std::string* out, std::string_view value);

}  // namespace insight::core
