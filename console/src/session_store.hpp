// Server-side sessions of the console: an unguessable token in a cookie maps
// to the person's own database connection and a CSRF token. See docs/CONSOLE.md.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <pqxx/pqxx>

namespace insight::console {

using Clock = std::chrono::steady_clock;

// 32 bytes from OpenSSL's CSPRNG, hex-encoded (64 characters).
std::string RandomToken();
// SHA-256 of the text, hex-encoded.
std::string Sha256Hex(const std::string& text);
// Constant-time equality (CRYPTO_memcmp); unequal lengths are unequal.
bool SecretEquals(const std::string& a, const std::string& b) noexcept;
// The value of cookie `name` in a Cookie header, or "" when absent.
std::string CookieValue(const std::string& cookie_header, const std::string& name);

struct Session {
  std::string csrf_token;
  std::string db_role;
  // The person's own connection, opened with their password at log in; the
  // password itself is not kept by the console. One request at a time uses it.
  std::mutex db_lock;
  std::unique_ptr<pqxx::connection> db;
  Clock::time_point last_seen;
};

class SessionStore {
 public:
  SessionStore(std::chrono::seconds idle_timeout, size_t max_sessions,
               std::function<Clock::time_point()> now = Clock::now);

  // A new session for an opened connection; returns the cookie token, or ""
  // when max_sessions are open.
  std::string Create(std::unique_ptr<pqxx::connection> db, const std::string& db_role);
  // The live session of a cookie token (touching its idle timer), or null.
  std::shared_ptr<Session> Find(const std::string& token);
  void Remove(const std::string& token);
  // Ends every session idle longer than the timeout; returns how many.
  size_t Sweep();
  size_t Size();

 private:
  std::chrono::seconds idle_timeout_;
  size_t max_sessions_;
  std::function<Clock::time_point()> now_;
  std::mutex lock_;
  // Keyed by the SHA-256 of the token: a lookup then compares hashes, so its
  // timing tells nothing about the token, and memory holds no live cookie.
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace insight::console
