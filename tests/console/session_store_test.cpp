// The console's own decisions, without a server: session tokens and idle
// expiry, the CSRF comparison, cookie parsing, the words for SQLSTATEs.
#include <gtest/gtest.h>

#include <set>

#include "messages.hpp"
#include "session_store.hpp"

namespace insight::console {
namespace {

struct FakeClock {
  Clock::time_point t = Clock::time_point(std::chrono::hours(1));
  std::function<Clock::time_point()> Fn() {
    return [this] { return t; };
  }
};

TEST(ConsoleTokens, AreLongHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = RandomToken();
    ASSERT_EQ(t.size(), 64u);
    ASSERT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(ConsoleTokens, SecretEqualsComparesWholeValues) {
  EXPECT_TRUE(SecretEquals("abc123", "abc123"));
  EXPECT_FALSE(SecretEquals("abc123", "abc124"));
  EXPECT_FALSE(SecretEquals("abc123", "abc12"));
  EXPECT_FALSE(SecretEquals("abc12", "abc123"));
  // An absent header is the empty string and never matches, even itself.
  EXPECT_FALSE(SecretEquals("", ""));
}

TEST(ConsoleCookies, FindsTheNamedCookieOnly) {
  EXPECT_EQ(CookieValue("a=1; insight_session=xyz; b=2", "insight_session"), "xyz");
  EXPECT_EQ(CookieValue("insight_session=xyz", "insight_session"), "xyz");
  EXPECT_EQ(CookieValue("xinsight_session=evil; insight_session=good", "insight_session"), "good");
  EXPECT_EQ(CookieValue("insight_sessionx=evil", "insight_session"), "");
  EXPECT_EQ(CookieValue("", "insight_session"), "");
  EXPECT_EQ(CookieValue("insight_session", "insight_session"), "");
}

TEST(ConsoleSessions, FindReturnsTheSessionWithItsOwnCsrfToken) {
  FakeClock clock;
  SessionStore store(std::chrono::seconds(60), 10, clock.Fn());
  std::string a = store.Create(nullptr, "role_a");
  std::string b = store.Create(nullptr, "role_b");
  ASSERT_EQ(a.size(), 64u);
  ASSERT_NE(a, b);
  auto sa = store.Find(a);
  auto sb = store.Find(b);
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->db_role, "role_a");
  EXPECT_EQ(sb->db_role, "role_b");
  EXPECT_EQ(sa->csrf_token.size(), 64u);
  EXPECT_NE(sa->csrf_token, sb->csrf_token);
  EXPECT_NE(sa->csrf_token, a);
  EXPECT_EQ(store.Find(std::string(64, '0')), nullptr);
  EXPECT_EQ(store.Find(""), nullptr);
  EXPECT_EQ(store.Find(a.substr(0, 63)), nullptr);
}

TEST(ConsoleSessions, IdleSessionsExpireAndUseKeepsThemAlive) {
  FakeClock clock;
  SessionStore store(std::chrono::seconds(60), 10, clock.Fn());
  std::string a = store.Create(nullptr, "a");
  std::string b = store.Create(nullptr, "b");
  clock.t += std::chrono::seconds(50);
  ASSERT_NE(store.Find(a), nullptr);  // a is used, b is not
  clock.t += std::chrono::seconds(50);
  EXPECT_NE(store.Find(a), nullptr);
  EXPECT_EQ(store.Find(b), nullptr);
  EXPECT_EQ(store.Size(), 1u);
  clock.t += std::chrono::seconds(61);
  EXPECT_EQ(store.Sweep(), 1u);
  EXPECT_EQ(store.Size(), 0u);
  EXPECT_EQ(store.Find(a), nullptr);
}

TEST(ConsoleSessions, LogoutRemovesOnlyThatSession) {
  FakeClock clock;
  SessionStore store(std::chrono::seconds(60), 10, clock.Fn());
  std::string a = store.Create(nullptr, "a");
  std::string b = store.Create(nullptr, "b");
  store.Remove(a);
  EXPECT_EQ(store.Find(a), nullptr);
  EXPECT_NE(store.Find(b), nullptr);
}

TEST(ConsoleSessions, RefusesMoreThanTheLimit) {
  FakeClock clock;
  SessionStore store(std::chrono::seconds(60), 2, clock.Fn());
  EXPECT_FALSE(store.Create(nullptr, "a").empty());
  EXPECT_FALSE(store.Create(nullptr, "b").empty());
  EXPECT_TRUE(store.Create(nullptr, "c").empty());
  clock.t += std::chrono::seconds(61);  // both idle out: room again
  EXPECT_FALSE(store.Create(nullptr, "d").empty());
}

TEST(ConsoleMessages, SqlStatesMapToWordsAndStatuses) {
  EXPECT_EQ(WordsForSqlState("42501", "x").http_status, 403);
  EXPECT_EQ(WordsForSqlState("P0002", "x").http_status, 404);
  EXPECT_EQ(WordsForSqlState("28000", "x").http_status, 401);
  ErrorWords blank = WordsForSqlState("22023", "name must not be blank");
  EXPECT_EQ(blank.http_status, 400);
  EXPECT_EQ(blank.message, "The request is not valid: name must not be blank.");
  // A message the console does not know is not passed through.
  const std::string echoed = "bad value ik_user_0123456789abcdef_secret";
  ErrorWords other = WordsForSqlState("22023", echoed);
  EXPECT_EQ(other.message.find("ik_user_"), std::string::npos);
  EXPECT_EQ(WordsForSqlState("XX000", echoed).message.find("ik_user_"), std::string::npos);
  EXPECT_EQ(WordsForSqlState("XX000", echoed).http_status, 500);
}

}  // namespace
}  // namespace insight::console
