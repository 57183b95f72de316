#include "key_settings.hpp"

#include <cstring>
#include <utility>
#include <vector>

namespace insight::core {

namespace {

// ---- a small JSON reader (objects, arrays, strings, integers, literals)

struct Value {
  enum Type { Null, Bool, Number, String, Array, Object } type = Null;
  std::string text;  // String: decoded; Number: as written
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool Document(Value* v) {
    if (!Parse(v, 0)) return false;
    Space();
    return pos_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 8;

  void Space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      pos_++;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool Hex4(unsigned* out) {
    if (pos_ + 4 > s_.size()) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else return false;
    }
    *out = v;
    return true;
  }
  bool Str(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    pos_++;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          unsigned cp;
          if (!Hex4(&cp)) return false;
          // Only what the validators below could accept matters: anything
          // outside ASCII becomes a byte no scope, CIDR or role name allows.
          out->push_back(cp < 0x80 && cp != 0 ? static_cast<char>(cp) : '\x7f');
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool Parse(Value* v, int depth) {
    if (depth > kMaxDepth) return false;
    Space();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') {
      v->type = Value::Object;
      pos_++;
      Space();
      if (pos_ < s_.size() && s_[pos_] == '}') return pos_++, true;
      for (;;) {
        Space();
        std::string name;
        if (!Str(&name)) return false;
        for (const auto& m : v->members) {
          if (m.first == name) return false;  // duplicate member
        }
        Space();
        if (pos_ >= s_.size() || s_[pos_++] != ':') return false;
        Value item;
        if (!Parse(&item, depth + 1)) return false;
        v->members.emplace_back(std::move(name), std::move(item));
        Space();
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == ',') { pos_++; continue; }
        if (s_[pos_] == '}') return pos_++, true;
        return false;
      }
    }
    if (c == '[') {
      v->type = Value::Array;
      pos_++;
      Space();
      if (pos_ < s_.size() && s_[pos_] == ']') return pos_++, true;
      for (;;) {
        Value item;
        if (!Parse(&item, depth + 1)) return false;
        v->items.push_back(std::move(item));
        Space();
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == ',') { pos_++; continue; }
        if (s_[pos_] == ']') return pos_++, true;
        return false;
      }
    }
    if (c == '"') {
      v->type = Value::String;
      return Str(&v->text);
    }
    if (c == 't' || c == 'f') {
      v->type = Value::Bool;
      v->text = c == 't' ? "true" : "false";
      return Literal(v->text);
    }
    if (c == 'n') {
      v->type = Value::Null;
      return Literal("null");
    }
    // A number, kept as written; its form is checked where it is used.
    v->type = Value::Number;
    size_t start = pos_;
    while (pos_ < s_.size() && (std::strchr("0123456789+-.eE", s_[pos_]) != nullptr) &&
           s_[pos_] != '\0') {
      pos_++;
    }
    v->text = std::string(s_.substr(start, pos_ - start));
    return !v->text.empty();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// ---- addresses

bool Decimal(std::string_view s, unsigned max, unsigned* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool ParseIpv4(std::string_view s, uint8_t out[4]) {
  for (int i = 0; i < 4; i++) {
    size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    unsigned v;
    if (!Decimal(s.substr(0, dot), 255, &v)) return false;
    out[i] = static_cast<uint8_t>(v);
    s = i < 3 ? s.substr(dot + 1) : std::string_view();
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 4291 text forms: eight groups, one "::" for a run of zero groups, and
// an IPv4 address in the last 32 bits.
bool ParseIpv6(std::string_view s, uint8_t out[16]) {
  uint8_t bytes[16] = {};
  int n = 0;        // bytes written
  int gap = -1;     // where "::" stands, in bytes
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    gap = 0;
    i = 2;
    if (s.size() == 2) {
      std::memset(out, 0, 16);
      return true;
    }
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    // An embedded IPv4 address ends the text.
    size_t next_colon = s.find(':', i);
    std::string_view group = s.substr(i, next_colon == std::string_view::npos ? s.npos : next_colon - i);
    if (group.find('.') != std::string_view::npos) {
      if (next_colon != std::string_view::npos || n > 12) return false;
      if (!ParseIpv4(group, bytes + n)) return false;
      n += 4;
      i = s.size();
      break;
    }
    if (group.empty() || group.size() > 4 || n > 14) return false;
    unsigned v = 0;
    for (char c : group) {
      int d = HexDigit(c);
      if (d < 0) return false;
      v = (v << 4) | static_cast<unsigned>(d);
    }
    bytes[n++] = static_cast<uint8_t>(v >> 8);
    bytes[n++] = static_cast<uint8_t>(v);
    i += group.size();
    if (i == s.size()) break;
    // s[i] == ':'
    if (i + 1 < s.size() && s[i + 1] == ':') {
      if (gap >= 0) return false;
      gap = n;
      i += 2;
      if (i == s.size()) break;
    } else {
      i += 1;
      if (i == s.size()) return false;  // a trailing single ':'
    }
  }
  if (gap < 0) {
    if (n != 16) return false;
    std::memcpy(out, bytes, 16);
    return true;
  }
  if (n > 14) return false;  // "::" must stand for at least one zero group
  std::memset(out, 0, 16);
  std::memcpy(out, bytes, static_cast<size_t>(gap));
  std::memcpy(out + 16 - (n - gap), bytes + gap, static_cast<size_t>(n - gap));
  return true;
}

bool IsV4Mapped(const uint8_t* a) {
  static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, 12) == 0;
}

bool PrefixEqual(const uint8_t* a, const uint8_t* b, unsigned bits) {
  unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

const Value* Member(const Value& obj, std::string_view name) {
  for (const auto& m : obj.members) {
    if (m.first == name) return &m.second;
  }
  return nullptr;
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

}  // namespace

bool ParseAddress(std::string_view text, uint8_t* family, uint8_t addr[16]) noexcept {
  std::memset(addr, 0, 16);
  if (text.find(':') != std::string_view::npos) {
    *family = 6;
    return ParseIpv6(text, addr);
  }
  *family = 4;
  return ParseIpv4(text, addr);
}

bool ParseCidr(std::string_view text, Cidr* out) noexcept {
  *out = Cidr{};
  size_t slash = text.find('/');
  std::string_view host = text.substr(0, slash);
  if (!ParseAddress(host, &out->family, out->addr)) return false;
  unsigned max = out->family == 4 ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos && !Decimal(text.substr(slash + 1), max, &prefix)) {
    return false;
  }
  out->prefix = static_cast<uint8_t>(prefix);
  // No host bit may be set beyond the prefix.
  for (unsigned bit = prefix; bit < max; bit++) {
    if (out->addr[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

bool CidrContains(const Cidr& c, uint8_t family, const uint8_t* addr) noexcept {
  if (family == 6 && c.family == 4 && IsV4Mapped(addr)) return PrefixEqual(c.addr, addr + 12, c.prefix);
  if (family != c.family) return false;
  return PrefixEqual(c.addr, addr, c.prefix);
}

bool ScopeMatches(std::string_view scope, std::string_view permission) noexcept {
  if (!scope.empty() && scope.back() == '*') {
    std::string_view prefix = scope.substr(0, scope.size() - 1);
    return permission.substr(0, prefix.size()) == prefix && permission.size() >= prefix.size();
  }
  return scope == permission;
}

bool ValidScope(std::string_view scope) noexcept {
  if (scope.empty() || scope.size() > kMaxScopeLen) return false;
  for (size_t i = 0; i < scope.size(); i++) {
    char c = scope[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '/' || c == '-' ||
              (c == '*' && i + 1 == scope.size());
    if (!ok) return false;
  }
  return true;
}

bool AnyScopeMatches(const KeySettings& s, std::string_view permission) noexcept {
  if (s.invalid) return false;
  if (!s.has_scopes) return true;
  for (size_t i = 0; i < s.scope_count; i++) {
    if (ScopeMatches(s.Scope(i), permission)) return true;
  }
  return false;
}

bool AddressAllowed(const KeySettings& s, bool has_address, uint8_t family,
                    const uint8_t* addr) noexcept {
  if (s.invalid) return false;
  if (!s.has_cidrs) return true;
  if (!has_address) return false;
  for (size_t i = 0; i < s.cidr_count; i++) {
    if (CidrContains(s.cidrs[i], family, addr)) return true;
  }
  return false;
}

bool ParseKeySettings(std::string_view json, bool allow_null, KeySettings* out,
                      std::string* window, std::string* error) {
  *out = KeySettings{};
  window->clear();
  Value root;
  if (!Reader(json).Document(&root) || root.type != Value::Object) {
    return Fail(error, "settings must be a JSON object");
  }
  for (const auto& [name, v] : root.members) {
    if (v.type == Value::Null) {
      if (!allow_null) return Fail(error, "settings member \"" + name + "\" must not be null");
      if (name != "max_role" && name != "scopes" && name != "allowed_cidrs" &&
          name != "rate_limit") {
        return Fail(error, "unknown settings member \"" + name + "\"");
      }
      continue;
    }
    if (name == "max_role") {
      std::optional<Role> role = v.type == Value::String ? ParseRole(v.text) : std::nullopt;
      if (!role) return Fail(error, "max_role must be \"org_admin\", \"read_write\" or \"read_only\"");
      out->has_max_role = true;
      out->max_role = *role;
    } else if (name == "scopes") {
      if (v.type != Value::Array) return Fail(error, "scopes must be an array of strings");
      if (v.items.size() > kMaxScopes) {
        return Fail(error, "scopes may have at most " + std::to_string(kMaxScopes) + " entries");
      }
      size_t used = 0;
      for (const Value& item : v.items) {
        if (item.type != Value::String || !ValidScope(item.text)) {
          return Fail(error,
                      "each scope must be 1 to 64 characters of letters, digits and _ . : / -, "
                      "optionally ending in *");
        }
        if (used + item.text.size() > kScopeBytes) {
          return Fail(error, "scopes may total at most " + std::to_string(kScopeBytes) + " bytes");
        }
        std::memcpy(out->scope_bytes + used, item.text.data(), item.text.size());
        used += item.text.size();
        out->scope_end[out->scope_count++] = static_cast<uint16_t>(used);
      }
      out->has_scopes = true;
    } else if (name == "allowed_cidrs") {
      if (v.type != Value::Array) return Fail(error, "allowed_cidrs must be an array of strings");
      if (v.items.size() > kMaxCidrs) {
        return Fail(error, "allowed_cidrs may have at most " + std::to_string(kMaxCidrs) + " entries");
      }
      for (const Value& item : v.items) {
        if (item.type != Value::String || !ParseCidr(item.text, &out->cidrs[out->cidr_count])) {
          return Fail(error,
                      "each allowed_cidrs entry must be an IPv4 or IPv6 CIDR with no host bits set");
        }
        out->cidr_count++;
      }
      out->has_cidrs = true;
    } else if (name == "rate_limit") {
      if (v.type != Value::Object) {
        return Fail(error, "rate_limit must be {\"limit\": N, \"window\": \"<interval>\"}");
      }
      const Value* limit = Member(v, "limit");
      const Value* win = Member(v, "window");
      if (v.members.size() != 2 || limit == nullptr || win == nullptr) {
        return Fail(error, "rate_limit must have exactly the members \"limit\" and \"window\"");
      }
      bool digits = limit->type == Value::Number && !limit->text.empty() && limit->text.size() <= 10 &&
                    limit->text.find_first_not_of("0123456789") == std::string::npos &&
                    !(limit->text.size() > 1 && limit->text[0] == '0');
      int64_t n = digits ? std::stoll(limit->text) : 0;
      if (n < 1 || n > 2147483647) {
        return Fail(error, "rate_limit.limit must be an integer from 1 to 2147483647");
      }
      if (win->type != Value::String || win->text.empty() || win->text.size() > 64) {
        return Fail(error, "rate_limit.window must be an interval of at least 1 second");
      }
      out->has_rate_limit = true;
      out->rate_limit = n;
      *window = win->text;
    } else {
      return Fail(error, "unknown settings member \"" + name + "\"");
    }
  }
  return true;
}

}  // namespace insight::core
