// Connections of the console's own database role, for the HTTP API. That role
// holds no privilege of its own: every request authenticates with the
// caller's key inside its one transaction (docs/CONSOLE.md).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace insight::console {

class ApiPool {
 public:
  ApiPool(std::string conninfo, size_t max_idle)
      : conninfo_(std::move(conninfo)), max_idle_(max_idle) {}

  std::unique_ptr<pqxx::connection> Acquire() {
    {
      std::lock_guard<std::mutex> g(lock_);
      while (!idle_.empty()) {
        std::unique_ptr<pqxx::connection> c = std::move(idle_.back());
        idle_.pop_back();
        if (c->is_open()) return c;
      }
    }
    return std::make_unique<pqxx::connection>(conninfo_);
  }

  // A connection goes back only when it is healthy and outside a transaction.
  void Release(std::unique_ptr<pqxx::connection> c) {
    if (!c || !c->is_open()) return;
    std::lock_guard<std::mutex> g(lock_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
  }

 private:
  std::string conninfo_;
  size_t max_idle_;
  std::mutex lock_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

}  // namespace insight::console
