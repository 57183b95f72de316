#include "messages.hpp"

#include <array>

namespace insight::console {

namespace {
// The extension's own 22023 reasons that name no input value.
const std::array<const char*, 5> kKnownReasons = {
    "name must not be blank",  "name must not be null",   "name must be at most 200 bytes",
    "org_id must not be null", "key_id must not be null",
};
}  // namespace

ErrorWords WordsForSqlState(const std::string& sqlstate, const std::string& server_message) {
  if (sqlstate == "42501") return {403, "You are not allowed to do that."};
  if (sqlstate == "P0002")
    return {404, "That key or organization does not exist, or you are not allowed to see it."};
  if (sqlstate == "22023") {
    for (const char* reason : kKnownReasons) {
      if (server_message.find(reason) != std::string::npos)
        return {400, std::string("The request is not valid: ") + reason + "."};
    }
    return {400, "The request is not valid: check the name, the organization and the expiry date."};
  }
  if (sqlstate == "22P02") return {400, "That is not a valid identifier."};
  if (sqlstate == "22007" || sqlstate == "22008")
    return {400, "The expiry date is not a valid date."};
  if (sqlstate == "28000") return {401, "The API key is not valid."};
  if (sqlstate == "55000") return {409, "That key cannot be changed in its current state."};
  return {500, "The database could not complete the request."};
}

}  // namespace insight::console
