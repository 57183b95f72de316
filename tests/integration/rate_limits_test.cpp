// The shared-memory rate-limit table across backends (libpqxx): exact under
// concurrency, which one psql session cannot show. Drives the operator's
// probe insight._rate_limit_consume(), the same code check() and
// authenticate() count through.
//
// Environment (set by tests/integration/run.sh): INSIGHT_TEST_DSN, a
// superuser connection.
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

namespace insight_integration {
namespace {

std::string Dsn() {
  const char* v = std::getenv("INSIGHT_TEST_DSN");
  return v == nullptr ? std::string() : std::string(v);
}

std::string RandomKeyId() {
  pqxx::connection c(Dsn());
  pqxx::nontransaction n(c);
  return n.exec1("SELECT gen_random_uuid()")[0].as<std::string>();
}

struct Answers {
  std::mutex mutex;
  int allowed = 0;
  int refused = 0;
  std::multiset<int> remaining_when_allowed;
};

// Each of `sessions` backends asks `per_session` times, all at once.
void Hammer(const std::string& key_id, int limit, int sessions, int per_session, Answers* out) {
  std::vector<std::thread> threads;
  for (int s = 0; s < sessions; s++) {
    threads.emplace_back([&key_id, limit, per_session, out]() {
      pqxx::connection c(Dsn());
      c.prepare("consume",
                "SELECT allowed, available, remaining FROM insight._rate_limit_consume($1, $2, "
                "'1 hour')");
      for (int i = 0; i < per_session; i++) {
        pqxx::nontransaction n(c);
        pqxx::row r = n.exec_prepared1("consume", key_id, limit);
        bool allowed = r[0].as<bool>();
        EXPECT_TRUE(r[1].as<bool>()) << "the table must have room";
        std::lock_guard<std::mutex> g(out->mutex);
        if (allowed) {
          out->allowed++;
          out->remaining_when_allowed.insert(r[2].as<int>());
        } else {
          out->refused++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(RateLimits, FourSessionsAtOnceGetExactlyTheLimit) {
  std::string key = RandomKeyId();
  Answers a;
  Hammer(key, 100, 4, 60, &a);
  EXPECT_EQ(a.allowed, 100);
  EXPECT_EQ(a.refused, 140);
  // Each allowed request saw its own count: remaining 99, 98, ..., 0 once each.
  std::multiset<int> expected;
  for (int i = 0; i < 100; i++) expected.insert(i);
  EXPECT_EQ(a.remaining_when_allowed, expected);
}

TEST(RateLimits, KeysAreCountedApart) {
  std::string first = RandomKeyId();
  std::string second = RandomKeyId();
  Answers a, b;
  Hammer(first, 10, 2, 20, &a);
  Hammer(second, 7, 2, 20, &b);
  EXPECT_EQ(a.allowed, 10);
  EXPECT_EQ(b.allowed, 7);
}

TEST(RateLimits, ANewLimitStartsANewWindow) {
  std::string key = RandomKeyId();
  Answers a, b;
  Hammer(key, 5, 1, 10, &a);
  Hammer(key, 8, 1, 10, &b);  // the key's limit was changed: counted afresh
  EXPECT_EQ(a.allowed, 5);
  EXPECT_EQ(b.allowed, 8);
}

TEST(RateLimits, StatsShowTheTable) {
  pqxx::connection c(Dsn());
  pqxx::nontransaction n(c);
  pqxx::row before = n.exec1(
      "SELECT rate_limit_capacity, rate_limit_entries, rate_limit_refused_full FROM insight.stats");
  EXPECT_EQ(before[0].as<long>(), n.exec1("SHOW insight.rate_limit_capacity")[0].as<long>());
  n.exec1("SELECT insight._rate_limit_consume(gen_random_uuid(), 1, '1 minute')");
  pqxx::row after = n.exec1("SELECT rate_limit_entries FROM insight.stats");
  EXPECT_EQ(after[0].as<long>(), before[1].as<long>() + 1);
}

TEST(RateLimits, BadArgumentsAre22023) {
  pqxx::connection c(Dsn());
  for (const char* sql : {"SELECT insight._rate_limit_consume(gen_random_uuid(), 0, '1 minute')",
                          "SELECT insight._rate_limit_consume(gen_random_uuid(), 1, '0.5 s')",
                          "SELECT insight._rate_limit_consume(NULL, 1, '1 minute')"}) {
    pqxx::nontransaction n(c);
    try {
      n.exec(sql);
      ADD_FAILURE() << "no error for " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_EQ(e.sqlstate(), "22023") << sql << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace insight_integration
