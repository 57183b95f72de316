// Words for the errors the console shows a person or an API client.
#pragma once

#include <string>

namespace insight::console {

struct ErrorWords {
  int http_status;
  std::string message;
};

// Maps a SQLSTATE from the extension's functions to an HTTP status and a
// sentence. The server's own error text is never passed through: it could
// carry input back (and a key must never be echoed), so every state has
// fixed words; 22023 adds the extension's reason only when it is one of the
// known parameter complaints.
ErrorWords WordsForSqlState(const std::string& sqlstate, const std::string& server_message);

}  // namespace insight::console
