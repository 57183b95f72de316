// Arguments of the SQL functions, validated the same way everywhere.
#pragma once

#include <cstddef>
#include <string>

#include "spi_bridge.hpp"

namespace insight {

// Names (of keys, organizations) and other short texts: at most this many bytes.
inline constexpr size_t kMaxTextLen = 200;

// The text of argument argno: raises 22023 "<what> must not be null", "...
// must not be blank" (only whitespace) or "... must be at most N bytes".
std::string RequiredText(FunctionCallInfo fcinfo, int argno, const char* what, size_t max_len);

}  // namespace insight
