// The audit trail: append-only, written only by the extension.
#pragma once

#include <optional>
#include <string>

#include "principal.hpp"

namespace insight {

// Inside an Elevated scope. detail_json is a JSON object (core::JsonObject).
void WriteAudit(const Actor& actor, const char* action, const std::optional<core::Uuid>& org,
                const std::optional<core::Uuid>& user, const std::optional<core::Uuid>& key,
                const std::string& detail_json);

}  // namespace insight
