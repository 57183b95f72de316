#pragma once
#include "cpp_only.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace insight::core {

// A 16-byte UUID as PostgreSQL stores it (network byte order).
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool IsNil() const {
    for (uint8_t b : bytes) {
      if (b != 0) return false;
    }
    return true;
  }
  friend bool operator==(const Uuid& a, const Uuid& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const Uuid& a, const Uuid& b) { return !(a == b); }
};

}  // namespace insight::core
