#include "json_object.hpp"

#include <cstdio>

namespace insight::core {

void AppendJsonString(std::string* out, std::string_view value) {
  out->push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void JsonObject::Key(std::string_view name) {
  if (body_.size() > 1) body_.push_back(',');
  AppendJsonString(&body_, name);
  body_.push_back(':');
}

JsonObject& JsonObject::Add(std::string_view name, std::string_view value) {
  Key(name);
  AppendJsonString(&body_, value);
  return *this;
}

JsonObject& JsonObject::AddNumber(std::string_view name, long long value) {
  Key(name);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::AddBool(std::string_view name, bool value) {
  Key(name);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::AddRaw(std::string_view name, std::string_view json) {
  Key(name);
  body_ += json;
  return *this;
}

}  // namespace insight::core
