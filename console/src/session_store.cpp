#include "session_store.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>
#include <vector>

namespace insight::console {

namespace {
std::string Hex(const unsigned char* data, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}
}  // namespace

std::string RandomToken() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("no randomness available");
  std::string token = Hex(buf, sizeof buf);
  OPENSSL_cleanse(buf, sizeof buf);
  return token;
}

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return Hex(digest, sizeof digest);
}

bool SecretEquals(const std::string& a, const std::string& b) noexcept {
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    size_t b = pos;
    while (b < end && header[b] == ' ') ++b;
    size_t eq = header.find('=', b);
    if (eq != std::string::npos && eq < end && header.compare(b, eq - b, name) == 0 &&
        eq - b == name.size()) {
      return header.substr(eq + 1, end - eq - 1);
    }
    pos = end + 1;
  }
  return "";
}

SessionStore::SessionStore(std::chrono::seconds idle_timeout, size_t max_sessions,
                           std::function<Clock::time_point()> now)
    : idle_timeout_(idle_timeout), max_sessions_(max_sessions), now_(std::move(now)) {}

std::string SessionStore::Create(std::unique_ptr<pqxx::connection> db, const std::string& db_role) {
  Sweep();
  auto s = std::make_shared<Session>();
  s->csrf_token = RandomToken();
  s->db_role = db_role;
  s->db = std::move(db);
  s->last_seen = now_();
  std::string token = RandomToken();
  std::lock_guard<std::mutex> g(lock_);
  if (sessions_.size() >= max_sessions_) return "";
  sessions_.emplace(Sha256Hex(token), std::move(s));
  return token;
}

std::shared_ptr<Session> SessionStore::Find(const std::string& token) {
  if (token.size() != 64) return nullptr;
  std::string key = Sha256Hex(token);
  std::shared_ptr<Session> expired;  // closed outside the lock
  std::lock_guard<std::mutex> g(lock_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  Clock::time_point now = now_();
  if (now - it->second->last_seen > idle_timeout_) {
    expired = std::move(it->second);
    sessions_.erase(it);
    return nullptr;
  }
  it->second->last_seen = now;
  return it->second;
}

void SessionStore::Remove(const std::string& token) {
  if (token.empty()) return;
  std::shared_ptr<Session> gone;
  std::lock_guard<std::mutex> g(lock_);
  auto it = sessions_.find(Sha256Hex(token));
  if (it == sessions_.end()) return;
  gone = std::move(it->second);
  sessions_.erase(it);
}

size_t SessionStore::Sweep() {
  std::vector<std::shared_ptr<Session>> gone;
  std::lock_guard<std::mutex> g(lock_);
  Clock::time_point now = now_();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second->last_seen > idle_timeout_) {
      gone.push_back(std::move(it->second));
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  return gone.size();
}

size_t SessionStore::Size() {
  std::lock_guard<std::mutex> g(lock_);
  return sessions_.size();
}

}  // namespace insight::console
