// Several client sessions against one server (libpqxx): what a single psql
// session in pg_regress cannot show. Revocation and deletion reach other
// sessions on their next statement; the acting principal lives in one backend
// and one transaction (unless session scope is asked for) and never leaks.
//
// Environment (set by tests/integration/run.sh):
//   INSIGHT_TEST_DSN      a superuser connection (the operator)
//   INSIGHT_TEST_APP_DSN  the login role integ_app: not superuser, not an
//                         operator, not mapped to any user (default: the
//                         superuser DSN with user=integ_app)
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "key_codec.hpp"

namespace insight_integration {
namespace {

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string AdminDsn() { return EnvOrEmpty("INSIGHT_TEST_DSN"); }

std::string AppDsn() {
  std::string dsn = EnvOrEmpty("INSIGHT_TEST_APP_DSN");
  // libpq: a keyword given twice takes its last value.
  return dsn.empty() ? AdminDsn() + " user=integ_app" : dsn;
}

// A name no other test (nor an earlier run against the same database) uses.
std::string UniqueName(const std::string& what) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return "integ_" + what + "_" + std::to_string(getpid()) + "_" + std::to_string(now) + "_" +
         std::to_string(counter++);
}

// One client session. Statements run in autocommit unless Begin() opened an
// explicit transaction, which then lasts until Commit() or Rollback().
class Session {
 public:
  explicit Session(const std::string& dsn) : conn_(dsn) {
    // A safeguard, not an assertion: a statement stuck behind a lock fails
    // the test instead of hanging the suite.
    Exec("SET statement_timeout = '60s'");
  }

  void Begin() { tx_ = std::make_unique<pqxx::work>(conn_); }
  void Commit() {
    tx_->commit();
    tx_.reset();
  }
  void Rollback() {
    tx_->abort();
    tx_.reset();
  }

  pqxx::result Exec(const std::string& sql) {
    if (tx_) return tx_->exec(sql);
    pqxx::nontransaction n(conn_);
    return n.exec(sql);
  }

  template <typename... Args>
  pqxx::result ExecParams(const std::string& sql, Args&&... args) {
    if (tx_) return tx_->exec_params(sql, std::forward<Args>(args)...);
    pqxx::nontransaction n(conn_);
    return n.exec_params(sql, std::forward<Args>(args)...);
  }

  // The first column of the only row, as text ("" for NULL).
  std::string Scalar(const std::string& sql) {
    pqxx::result r = Exec(sql);
    EXPECT_EQ(r.size(), 1u) << sql;
    if (r.empty()) return "<no row>";
    return r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
  }

  // The SQLSTATE the statement fails with ("" if it succeeds).
  std::string ErrorOf(const std::string& sql, std::string* message = nullptr) {
    try {
      Exec(sql);
    } catch (const pqxx::sql_error& e) {
      if (message != nullptr) *message = e.what();
      if (tx_) tx_.reset();  // the transaction is aborted; pqxx rolls it back
      if (!e.sqlstate().empty()) return e.sqlstate();
      // libpqxx 6.4 throws insufficient_privilege without its SQLSTATE.
      if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) return "42501";
      return "(no sqlstate)";
    }
    return "";
  }

  pqxx::connection& conn() { return conn_; }

 private:
  pqxx::connection conn_;
  std::unique_ptr<pqxx::work> tx_;
};

std::string Quote(Session& s, const std::string& text) { return s.conn().quote(text); }

struct Whoami {
  std::string kind, via, user_id, org_id, key_id, role, scope;
};

Whoami WhoamiOf(Session& s) {
  pqxx::result r = s.Exec(
      "SELECT kind, coalesce(via, ''), coalesce(user_id::text, ''), coalesce(org_id::text, ''), "
      "coalesce(key_id::text, ''), coalesce(role, ''), coalesce(scope, '') FROM insight.whoami()");
  EXPECT_EQ(r.size(), 1u);
  Whoami w;
  if (r.size() != 1) return w;
  w.kind = r[0][0].as<std::string>();
  w.via = r[0][1].as<std::string>();
  w.user_id = r[0][2].as<std::string>();
  w.org_id = r[0][3].as<std::string>();
  w.key_id = r[0][4].as<std::string>();
  w.role = r[0][5].as<std::string>();
  w.scope = r[0][6].as<std::string>();
  return w;
}

struct VerifyRow {
  bool valid = false;
  std::string code, key_id, kind, org_id, user_id, role;
};

VerifyRow VerifyRowOf(const pqxx::result& r) {
  EXPECT_EQ(r.size(), 1u);
  VerifyRow v;
  if (r.size() != 1) return v;
  v.valid = r[0][0].as<bool>();
  v.code = r[0][1].as<std::string>();
  v.key_id = r[0][2].is_null() ? "" : r[0][2].as<std::string>();
  v.kind = r[0][3].is_null() ? "" : r[0][3].as<std::string>();
  v.org_id = r[0][4].is_null() ? "" : r[0][4].as<std::string>();
  v.user_id = r[0][5].is_null() ? "" : r[0][5].as<std::string>();
  v.role = r[0][6].is_null() ? "" : r[0][6].as<std::string>();
  return v;
}

constexpr const char* kVerifyColumns =
    "valid, code, key_id::text, kind, org_id::text, user_id::text, role";

VerifyRow Verify(Session& s, const std::string& key) {
  return VerifyRowOf(s.Exec(std::string("SELECT ") + kVerifyColumns + " FROM insight.verify(" +
                            Quote(s, key) + ")"));
}

std::set<std::string> VisibleKeyIds(Session& s) {
  std::set<std::string> ids;
  for (const auto& row : s.Exec("SELECT key_id::text FROM insight.keys")) {
    ids.insert(row[0].as<std::string>());
  }
  return ids;
}

struct Key {
  std::string id;
  std::string text;
};

// insight.authenticate(key) in s, for the transaction or, with scope
// "session", for the session.
void Authenticate(Session& s, const std::string& key, const std::string& scope = "") {
  s.Exec("SELECT * FROM insight.authenticate(" + Quote(s, key) +
         (scope.empty() ? std::string() : ", '" + scope + "'") + ")");
}

// The row insight.authenticate(key) answers in s.
VerifyRow AuthenticateRow(Session& s, const std::string& key) {
  return VerifyRowOf(s.Exec(std::string("SELECT ") + kVerifyColumns +
                            " FROM insight.authenticate(" + Quote(s, key) + ")"));
}

// The SQLSTATE insight.authenticate(key) fails with in s ("" if it succeeds).
std::string AuthenticateError(Session& s, const std::string& key, std::string* message) {
  return s.ErrorOf("SELECT * FROM insight.authenticate(" + Quote(s, key) + ")", message);
}

// insight.verify($1) with the key (or NULL) as a libpq parameter.
template <typename Param>
VerifyRow VerifyParam(Session& s, Param&& key) {
  return VerifyRowOf(
      s.ExecParams(std::string("SELECT ") + kVerifyColumns + " FROM insight.verify($1)",
                   std::forward<Param>(key)));
}

// Opens a transaction in holder that holds a share lock on the rows of keys,
// so that no cascade (worker or apply_cascades) deletes them until holder
// commits: an answer then comes from the owner's state, not from a key's
// absence. Fails the test unless every row is there; call it in
// ASSERT_NO_FATAL_FAILURE.
void HoldKeyRows(Session& holder, const std::vector<Key>& keys) {
  std::set<std::string> want, held;
  std::string ids;
  for (const Key& k : keys) {
    want.insert(k.id);
    ids += (ids.empty() ? "'" : ", '") + k.id + "'";
  }
  holder.Begin();
  for (const auto& row :
       holder.Exec("SELECT id::text FROM insight.api_keys WHERE id IN (" + ids + ") FOR SHARE")) {
    held.insert(row[0].as<std::string>());
  }
  ASSERT_EQ(held, want);
}

// Identities and keys made by the operator (the superuser session), each test
// with its own organization and users so that tests never share state.
class SessionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_FALSE(AdminDsn().empty())
        << "INSIGHT_TEST_DSN is not set (run tests/integration/run.sh)";
    Session admin(AdminDsn());
    // A plain login role: not superuser, not an operator, not a trusted app,
    // not mapped to a user. Created once per cluster.
    admin.Exec(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'integ_app') THEN "
        "CREATE ROLE integ_app LOGIN; END IF; END $$");
  }

  void SetUp() override {
    ASSERT_FALSE(AdminDsn().empty());
    admin_ = std::make_unique<Session>(AdminDsn());
    ASSERT_EQ(WhoamiOf(*admin_).kind, "operator");
  }

  std::string CreateOrg() {
    return admin_->Scalar("SELECT insight.create_organization(" +
                          Quote(*admin_, UniqueName("org")) + ")");
  }

  std::string CreateUser(const std::string& org, const std::string& role) {
    std::string user = admin_->Scalar("SELECT insight.create_user(" +
                                      Quote(*admin_, UniqueName("user") + "@example.com") + ")");
    admin_->Exec("SELECT insight.set_membership('" + user + "', '" + org + "', '" + role + "')");
    return user;
  }

  // A user key, generated by its owner (the superuser acts as a trusted app).
  Key UserKey(const std::string& user, const std::string& org) {
    admin_->Begin();
    admin_->Exec("SELECT insight.act_as('" + user + "')");
    pqxx::result r = admin_->Exec("SELECT key_id::text, api_key FROM insight.generate_user_key('" +
                                  org + "', 'integration')");
    admin_->Commit();
    EXPECT_EQ(r.size(), 1u);
    return {r[0][0].as<std::string>(), r[0][1].as<std::string>()};
  }

  // An organization key, generated by the operator.
  Key OrgKey(const std::string& org) {
    pqxx::result r = admin_->Exec("SELECT key_id::text, api_key FROM insight.generate_org_key('" +
                                  org + "', 'integration')");
    EXPECT_EQ(r.size(), 1u);
    return {r[0][0].as<std::string>(), r[0][1].as<std::string>()};
  }

  void Revoke(const Key& key) { admin_->Exec("SELECT insight.revoke_key('" + key.id + "')"); }

  // The principal of s cannot revoke key: revoke_key answers as for a key that
  // does not exist (P0002), and the key stays valid.
  void ExpectCannotRevoke(Session& s, const Key& key) {
    std::string message;
    EXPECT_EQ(s.ErrorOf("SELECT insight.revoke_key('" + key.id + "')", &message), "P0002")
        << message;
    EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");
  }

  // A new organization, a user with `role` in it and a user key of theirs.
  struct Member {
    std::string org, user;
    Key key;
  };
  Member NewMember(const std::string& role) {
    Member m;
    m.org = CreateOrg();
    m.user = CreateUser(m.org, role);
    m.key = UserKey(m.user, m.org);
    return m;
  }

  std::unique_ptr<Session> admin_;
};

// Revoke deletes the key permanently and at once; the next
// verification anywhere answers NOT_FOUND.
TEST_F(SessionsTest, KeyRevokedInOneSessionIsNotFoundInAnotherOnItsNextStatement) {
  auto [org, user, key] = NewMember("read_write");
  Key other = UserKey(user, org);

  Session b(AppDsn());
  VerifyRow before = Verify(b, key.text);
  EXPECT_TRUE(before.valid);
  EXPECT_EQ(before.code, "VALID");
  EXPECT_EQ(before.key_id, key.id);
  EXPECT_EQ(before.kind, "user");
  EXPECT_EQ(before.org_id, org);
  EXPECT_EQ(before.user_id, user);
  EXPECT_EQ(before.role, "read_write");
  // Verify twice more so that any per-backend state (a plan, a cache) is warm.
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");

  Revoke(key);

  VerifyRow after = Verify(b, key.text);
  EXPECT_FALSE(after.valid);
  EXPECT_EQ(after.code, "NOT_FOUND");
  EXPECT_EQ(after.key_id, "");
  EXPECT_EQ(after.user_id, "");
  // The owner's other key is untouched.
  EXPECT_EQ(Verify(b, other.text).code, "VALID");
}

// Inside an open READ COMMITTED transaction of B, the next statement already
// sees the revocation committed by A.
TEST_F(SessionsTest, KeyRevokedWhileAnotherSessionIsInsideATransaction) {
  std::string org = CreateOrg();
  Key key = OrgKey(org);

  Session b(AppDsn());
  b.Begin();
  VerifyRow before = Verify(b, key.text);
  EXPECT_EQ(before.code, "VALID");
  EXPECT_EQ(before.kind, "organization");
  EXPECT_EQ(before.role, "org_admin");
  EXPECT_EQ(before.user_id, "");

  Revoke(key);

  EXPECT_EQ(Verify(b, key.text).code, "NOT_FOUND");
  b.Commit();
  EXPECT_EQ(Verify(b, key.text).code, "NOT_FOUND");
}

// Every session that already verified the key (whatever it remembers per
// backend) sees the revocation, the owner's deletion and role changes on its
// next statement.
TEST_F(SessionsTest, EveryWarmedSessionSeesChangesOnItsNextStatement) {
  auto [org, user, key] = NewMember("org_admin");
  Key revoked = UserKey(user, org);

  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < 4; i++) {
    sessions.push_back(std::make_unique<Session>(i % 2 == 0 ? AppDsn() : AdminDsn()));
    for (int round = 0; round < 3; round++) {
      EXPECT_EQ(Verify(*sessions.back(), key.text).role, "org_admin");
      EXPECT_EQ(Verify(*sessions.back(), revoked.text).code, "VALID");
    }
  }

  Revoke(revoked);
  for (auto& s : sessions) {
    EXPECT_EQ(Verify(*s, revoked.text).code, "NOT_FOUND");
    EXPECT_EQ(Verify(*s, key.text).code, "VALID");
  }

  admin_->Exec("SELECT insight.set_membership('" + user + "', '" + org + "', 'read_write')");
  for (auto& s : sessions) EXPECT_EQ(Verify(*s, key.text).role, "read_write");

  Session holder(AdminDsn());
  ASSERT_NO_FATAL_FAILURE(HoldKeyRows(holder, {key}));
  admin_->Exec("SELECT insight.delete_user('" + user + "')");
  for (auto& s : sessions) EXPECT_EQ(Verify(*s, key.text).code, "OWNER_INACTIVE");
  holder.Commit();
}

// A DBA may change the identity tables with plain SQL; warmed
// sessions follow those changes exactly as they follow the functions.
TEST_F(SessionsTest, DirectTableChangesByADbaReachWarmedSessions) {
  auto [org, user, key] = NewMember("org_admin");
  Key doomed = OrgKey(org);

  Session b(AppDsn());
  for (int round = 0; round < 3; round++) {
    EXPECT_EQ(Verify(b, key.text).role, "org_admin");
    EXPECT_EQ(Verify(b, doomed.text).code, "VALID");
  }

  admin_->Exec("UPDATE insight.memberships SET role = 'read_only' WHERE user_id = '" + user +
               "' AND org_id = '" + org + "'");
  EXPECT_EQ(Verify(b, key.text).role, "read_only");

  admin_->Exec("UPDATE insight.users SET is_platform_admin = true WHERE id = '" + user + "'");
  EXPECT_EQ(Verify(b, key.text).role, "platform_admin");

  admin_->Exec("DELETE FROM insight.api_keys WHERE id = '" + doomed.id + "'");
  EXPECT_EQ(Verify(b, doomed.text).code, "NOT_FOUND");

  Session holder(AdminDsn());
  ASSERT_NO_FATAL_FAILURE(HoldKeyRows(holder, {key}));
  admin_->Exec("DELETE FROM insight.users WHERE id = '" + user + "'");
  EXPECT_EQ(Verify(b, key.text).code, "OWNER_INACTIVE");
  holder.Commit();
}

// Sessions verifying in a tight loop while another revokes: any verify that
// starts after revoke_key() has returned (its commit is done) answers
// NOT_FOUND, in every session, however warm. Verifies racing with the commit
// may answer either; no timing is assumed anywhere.
TEST_F(SessionsTest, ConcurrentVerifiersSeeARevocationOnceItHasCommitted) {
  std::string org = CreateOrg();
  std::string user = CreateUser(org, "read_write");
  Key key = UserKey(user, org);
  Key principal_key = UserKey(user, org);

  constexpr int kThreads = 3;
  constexpr int kWarmRounds = 30;
  constexpr int kRoundsAfter = 30;
  std::atomic<int> warmed{0};
  std::atomic<bool> revoked{false};
  std::vector<std::string> errors(kThreads);
  std::vector<int> late_valid(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t]() {
      try {
        Session s(AppDsn());
        // This session acts through another key of the same owner, for the
        // whole session; it must lose sight of `key` as well.
        Authenticate(s, principal_key.text, "session");
        for (int i = 0; i < kWarmRounds; i++) {
          if (Verify(s, key.text).code != "VALID") errors[t] += "not VALID before revocation; ";
        }
        warmed++;
        int after = 0;
        while (after < kRoundsAfter) {
          bool was_revoked = revoked.load(std::memory_order_acquire);
          VerifyRow v = Verify(s, key.text);
          std::set<std::string> visible = VisibleKeyIds(s);
          if (was_revoked) {
            after++;
            if (v.code != "NOT_FOUND") late_valid[t]++;
            if (visible.count(key.id) != 0) errors[t] += "revoked key still listed; ";
          }
        }
      } catch (const std::exception& e) {
        errors[t] += e.what();
        warmed++;
      }
    });
  }
  while (warmed.load() < kThreads) std::this_thread::yield();
  Revoke(key);
  revoked.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();

  for (int t = 0; t < kThreads; t++) {
    EXPECT_EQ(errors[t], "") << "session " << t;
    EXPECT_EQ(late_valid[t], 0) << "session " << t << " answered non-NOT_FOUND after the commit";
  }
}

// A key whose expiry a DBA moves into the past answers EXPIRED in a warmed
// session at once, and a session principal acting through it stops acting.
TEST_F(SessionsTest, ExpiryMovedIntoThePastReachesWarmedSessions) {
  auto [org, user, key] = NewMember("read_write");

  Session b(AppDsn());
  Session acting(AppDsn());
  Authenticate(acting, key.text, "session");
  for (int round = 0; round < 3; round++) {
    EXPECT_EQ(Verify(b, key.text).code, "VALID");
    EXPECT_EQ(WhoamiOf(acting).key_id, key.id);
  }

  admin_->Exec("UPDATE insight.api_keys SET expires_at = now() - interval '1 minute' WHERE id = '" +
               key.id + "'");

  VerifyRow v = Verify(b, key.text);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.code, "EXPIRED");
  EXPECT_EQ(v.key_id, key.id);
  EXPECT_EQ(WhoamiOf(acting).kind, "nobody");
  EXPECT_EQ(VisibleKeyIds(acting), std::set<std::string>{});
}

// Uncommitted changes: invisible to other sessions until COMMIT, visible to
// the changing session's own next statement, and gone again after ROLLBACK
// (of the transaction or of a savepoint).
TEST_F(SessionsTest, UncommittedRevocationIsSeenOnlyByItsOwnSession) {
  std::string org = CreateOrg();
  Key key = OrgKey(org);

  Session b(AppDsn());
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");

  admin_->Begin();
  admin_->Exec("SELECT insight.revoke_key('" + key.id + "')");
  EXPECT_EQ(Verify(*admin_, key.text).code, "NOT_FOUND");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  admin_->Rollback();
  EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");

  admin_->Begin();
  admin_->Exec("SAVEPOINT s");
  admin_->Exec("SELECT insight.revoke_key('" + key.id + "')");
  EXPECT_EQ(Verify(*admin_, key.text).code, "NOT_FOUND");
  admin_->Exec("ROLLBACK TO SAVEPOINT s");
  EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");
  admin_->Exec("SELECT insight.revoke_key('" + key.id + "')");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  admin_->Commit();
  EXPECT_EQ(Verify(b, key.text).code, "NOT_FOUND");
  EXPECT_EQ(Verify(*admin_, key.text).code, "NOT_FOUND");
}

// The same for a user deleted in an open transaction.
TEST_F(SessionsTest, UncommittedUserDeletionIsSeenOnlyByItsOwnSession) {
  auto [org, user, key] = NewMember("read_only");

  Session b(AppDsn());
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");

  admin_->Begin();
  admin_->Exec("SELECT insight.delete_user('" + user + "')");
  EXPECT_EQ(Verify(*admin_, key.text).code, "OWNER_INACTIVE");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  admin_->Rollback();
  EXPECT_EQ(Verify(*admin_, key.text).code, "VALID");
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  EXPECT_EQ(Verify(b, key.text).role, "read_only");
}

// A key that shares its public lookup id with a valid key that a session has
// just verified, with another secret and a correct checksum (so it passes the
// format check), is unknown: whatever a backend remembers about the lookup id
// must not vouch for a different secret.
TEST_F(SessionsTest, ForgedSecretForAKnownLookupIdIsNotFound) {
  auto [org, user, user_key] = NewMember("read_write");
  Key org_key = OrgKey(org);

  Session b(AppDsn());
  for (const Key& key : {user_key, org_key}) {
    for (int round = 0; round < 3; round++) EXPECT_EQ(Verify(b, key.text).code, "VALID");
    insight::core::ParsedKey parsed;
    ASSERT_TRUE(insight::core::ParseKey(key.text, &parsed));
    const size_t secret_at =
        insight::core::PrefixOf(parsed.kind).size() + insight::core::kLookupLen + 1;
    // Change the secret's first character, then give the forgery a valid checksum.
    std::string forged = key.text.substr(0, key.text.size() - insight::core::kChecksumLen);
    forged[secret_at] = forged[secret_at] == 'A' ? 'B' : 'A';
    char digits[insight::core::kChecksumLen];
    ASSERT_TRUE(insight::core::Base62EncodeFixed(insight::core::Crc32(forged),
                                                 insight::core::kChecksumLen, digits));
    forged.append(digits, insight::core::kChecksumLen);
    ASSERT_TRUE(insight::core::ParseKey(forged, &parsed));
    ASSERT_NE(forged, key.text);

    VerifyRow v = Verify(b, forged);
    EXPECT_FALSE(v.valid);
    EXPECT_EQ(v.code, "NOT_FOUND");
    EXPECT_EQ(v.key_id, "");
    std::string message;
    EXPECT_EQ(AuthenticateError(b, forged, &message), "28000");
    EXPECT_EQ(Verify(b, key.text).code, "VALID");
  }
}

// By default the principal lasts until the end of the transaction
// (safe behind a transaction-mode pooler).
TEST_F(SessionsTest, PrincipalSetByAuthenticateIsGoneAfterCommit) {
  auto [org, user, key] = NewMember("read_only");

  Session app(AppDsn());
  ASSERT_EQ(app.Scalar("SELECT current_user"), "integ_app");
  Whoami idle = WhoamiOf(app);
  EXPECT_EQ(idle.kind, "nobody");
  EXPECT_EQ(idle.via, "");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{});

  app.Begin();
  VerifyRow auth = AuthenticateRow(app, key.text);
  EXPECT_EQ(auth.code, "VALID");
  EXPECT_EQ(auth.key_id, key.id);
  Whoami in_tx = WhoamiOf(app);
  EXPECT_EQ(in_tx.kind, "user");
  EXPECT_EQ(in_tx.via, "api_key");
  EXPECT_EQ(in_tx.user_id, user);
  EXPECT_EQ(in_tx.org_id, org);
  EXPECT_EQ(in_tx.key_id, key.id);
  EXPECT_EQ(in_tx.role, "read_only");
  EXPECT_EQ(in_tx.scope, "transaction");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{key.id});
  app.Commit();

  Whoami after = WhoamiOf(app);
  EXPECT_EQ(after.kind, "nobody");
  EXPECT_EQ(after.via, "");
  EXPECT_EQ(after.key_id, "");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{});

  // Same after ROLLBACK, and after an autocommit statement (its own transaction).
  app.Begin();
  Authenticate(app, key.text);
  EXPECT_EQ(WhoamiOf(app).kind, "user");
  app.Rollback();
  EXPECT_EQ(WhoamiOf(app).kind, "nobody");

  Authenticate(app, key.text);
  EXPECT_EQ(WhoamiOf(app).kind, "nobody");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{});
}

// A session-long principal is asked for explicitly, and a
// leaked key cannot outlive its own revocation.
TEST_F(SessionsTest, SessionScopeSurvivesCommitAndStopsTheMomentTheKeyIsRevoked) {
  auto [org, user, key] = NewMember("org_admin");
  Key org_key = OrgKey(org);

  Session app(AppDsn());
  Authenticate(app, key.text, "session");
  Whoami w = WhoamiOf(app);
  EXPECT_EQ(w.kind, "user");
  EXPECT_EQ(w.via, "api_key");
  EXPECT_EQ(w.key_id, key.id);
  EXPECT_EQ(w.role, "org_admin");
  EXPECT_EQ(w.scope, "session");

  app.Begin();
  EXPECT_EQ(WhoamiOf(app).key_id, key.id);
  app.Commit();
  Whoami after_commit = WhoamiOf(app);
  EXPECT_EQ(after_commit.kind, "user");
  EXPECT_EQ(after_commit.key_id, key.id);
  EXPECT_EQ(after_commit.scope, "session");
  // An org admin's key sees every key of the organization.
  EXPECT_EQ(VisibleKeyIds(app), (std::set<std::string>{key.id, org_key.id}));

  Revoke(key);

  Whoami revoked = WhoamiOf(app);
  EXPECT_EQ(revoked.kind, "nobody");
  EXPECT_EQ(revoked.key_id, "");
  EXPECT_EQ(revoked.role, "");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{});
  // Nor can it act: the org key it saw a moment ago is now unknown to it.
  ExpectCannotRevoke(app, org_key);
}

// The principal lives in the backend's own memory. Interleaved
// statements of two sessions never see each other's principal.
TEST_F(SessionsTest, TwoSessionsNeverSeeEachOthersPrincipal) {
  std::string org_a = CreateOrg();
  std::string org_b = CreateOrg();
  std::string user_a = CreateUser(org_a, "read_write");
  Key key_a = UserKey(user_a, org_a);
  Key key_b = OrgKey(org_b);
  Key unrelated = OrgKey(org_a);

  Session a(AppDsn());
  Session b(AppDsn());
  a.Begin();
  Authenticate(a, key_a.text);
  b.Begin();
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  EXPECT_EQ(VisibleKeyIds(b), std::set<std::string>{});
  Authenticate(b, key_b.text);

  Whoami wa = WhoamiOf(a);
  Whoami wb = WhoamiOf(b);
  EXPECT_EQ(wa.kind, "user");
  EXPECT_EQ(wa.key_id, key_a.id);
  EXPECT_EQ(wa.org_id, org_a);
  EXPECT_EQ(wa.user_id, user_a);
  EXPECT_EQ(wb.kind, "organization");
  EXPECT_EQ(wb.key_id, key_b.id);
  EXPECT_EQ(wb.org_id, org_b);
  EXPECT_EQ(wb.user_id, "");
  // A read_write user key sees its own keys (not the org key `unrelated` of its
  // organization); an org key all keys of its org.
  EXPECT_EQ(VisibleKeyIds(a), std::set<std::string>{key_a.id});
  EXPECT_EQ(VisibleKeyIds(b), std::set<std::string>{key_b.id});

  b.Commit();
  EXPECT_EQ(WhoamiOf(a).key_id, key_a.id);  // B's commit does not touch A
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  a.Commit();
  EXPECT_EQ(WhoamiOf(a).kind, "nobody");

  // Session scope in A, transaction scope in B, then B resets its own.
  Authenticate(a, key_a.text, "session");
  b.Begin();
  Authenticate(b, key_b.text);
  b.Exec("SELECT insight.reset_principal()");
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  EXPECT_EQ(WhoamiOf(a).key_id, key_a.id);
  b.Commit();
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  EXPECT_EQ(WhoamiOf(a).key_id, key_a.id);
}

// No window (docs/SECURITY.md "Membership removal"): a deleted user's key
// answers OWNER_INACTIVE from the
// moment the deletion commits, before the cascade removed the key. A third
// session holds a share lock on the key row so that the cascade (worker or
// apply_cascades) cannot delete it during the check: the answer must come
// from the owner's state, not from the key's absence.
TEST_F(SessionsTest, UserDeletedInOneSessionIsOwnerInactiveInAnotherImmediately) {
  auto [org, user, key] = NewMember("org_admin");
  Key org_key = OrgKey(org);

  Session b(AppDsn());
  EXPECT_EQ(Verify(b, key.text).code, "VALID");
  EXPECT_EQ(Verify(b, key.text).role, "org_admin");

  Session holder(AdminDsn());
  ASSERT_NO_FATAL_FAILURE(HoldKeyRows(holder, {key}));

  admin_->Exec("SELECT insight.delete_user('" + user + "')");

  VerifyRow after = Verify(b, key.text);
  EXPECT_FALSE(after.valid);
  EXPECT_EQ(after.code, "OWNER_INACTIVE");
  EXPECT_EQ(after.key_id, key.id);
  EXPECT_EQ(after.role, "");
  // The organization key (generated by the operator) keeps working.
  EXPECT_EQ(Verify(b, org_key.text).code, "VALID");
  std::string message;
  EXPECT_EQ(AuthenticateError(b, key.text, &message), "28000");
  holder.Commit();
}

// Removing the membership (not the user) has the same immediate effect.
TEST_F(SessionsTest, MembershipRemovedInOneSessionIsOwnerInactiveInAnother) {
  auto [org, user, key] = NewMember("read_write");

  Session b(AppDsn());
  Authenticate(b, key.text, "session");
  EXPECT_EQ(WhoamiOf(b).key_id, key.id);

  Session holder(AdminDsn());
  ASSERT_NO_FATAL_FAILURE(HoldKeyRows(holder, {key}));
  admin_->Exec("SELECT insight.remove_membership('" + user + "', '" + org + "')");

  EXPECT_EQ(Verify(b, key.text).code, "OWNER_INACTIVE");
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  holder.Commit();
}

// A role change reaches a key principal of another session on its next
// statement: a user key carries no permissions of its own (README "Roles and permissions").
TEST_F(SessionsTest, RoleChangeReachesAnotherSessionsKeyPrincipalAtOnce) {
  auto [org, user, key] = NewMember("org_admin");
  Key org_key = OrgKey(org);

  Session b(AppDsn());
  Authenticate(b, key.text, "session");
  EXPECT_EQ(WhoamiOf(b).role, "org_admin");
  EXPECT_EQ(VisibleKeyIds(b), (std::set<std::string>{key.id, org_key.id}));

  admin_->Exec("SELECT insight.set_membership('" + user + "', '" + org + "', 'read_only')");

  EXPECT_EQ(WhoamiOf(b).role, "read_only");
  EXPECT_EQ(VisibleKeyIds(b), std::set<std::string>{key.id});
  EXPECT_EQ(Verify(b, key.text).role, "read_only");
}

// An organization deleted in one session: its keys (both kinds) answer
// OWNER_INACTIVE in another at once, before any cascade removed them.
TEST_F(SessionsTest, OrganizationDeletedInOneSessionDisablesItsKeysInAnother) {
  auto [org, user, user_key] = NewMember("read_write");
  Key org_key = OrgKey(org);

  Session b(AppDsn());
  EXPECT_EQ(Verify(b, user_key.text).code, "VALID");
  EXPECT_EQ(Verify(b, org_key.text).code, "VALID");
  Authenticate(b, org_key.text, "session");
  EXPECT_EQ(WhoamiOf(b).kind, "organization");

  Session holder(AdminDsn());
  ASSERT_NO_FATAL_FAILURE(HoldKeyRows(holder, {user_key, org_key}));
  admin_->Exec("SELECT insight.delete_organization('" + org + "')");

  EXPECT_EQ(Verify(b, user_key.text).code, "OWNER_INACTIVE");
  EXPECT_EQ(Verify(b, org_key.text).code, "OWNER_INACTIVE");
  EXPECT_EQ(WhoamiOf(b).kind, "nobody");
  EXPECT_EQ(VisibleKeyIds(b), std::set<std::string>{});
  holder.Commit();
}

// A platform admin demoted in one session: their key principal in another
// session loses the admin's reach on its next statement.
TEST_F(SessionsTest, PlatformAdminRemovedReachesAnotherSessionAtOnce) {
  std::string org = CreateOrg();
  std::string admin_user = CreateUser(org, "read_only");
  admin_->Exec("SELECT insight.set_platform_admin('" + admin_user + "', true)");
  Key key = UserKey(admin_user, org);
  Key org_key = OrgKey(org);

  Session b(AppDsn());
  Authenticate(b, key.text, "session");
  EXPECT_EQ(WhoamiOf(b).role, "platform_admin");
  EXPECT_EQ(VisibleKeyIds(b), (std::set<std::string>{key.id, org_key.id}));

  admin_->Exec("SELECT insight.set_platform_admin('" + admin_user + "', false)");

  EXPECT_EQ(WhoamiOf(b).role, "read_only");
  EXPECT_EQ(VisibleKeyIds(b), std::set<std::string>{key.id});
  ExpectCannotRevoke(b, org_key);
}

// The fixed functions take libpq parameters (the way applications pass a key
// from a request header) exactly like literals.
TEST_F(SessionsTest, ParametersPassedWithLibpqWork) {
  std::string org = CreateOrg();
  std::string user = CreateUser(org, "read_write");

  // generate_user_key with parameters, including a NULL expires_at.
  admin_->Begin();
  admin_->ExecParams("SELECT insight.act_as($1::uuid)", user);
  pqxx::result gen = admin_->ExecParams(
      "SELECT key_id::text, api_key FROM insight.generate_user_key($1::uuid, $2, $3::timestamptz)",
      org, "param key", nullptr);
  admin_->Commit();
  ASSERT_EQ(gen.size(), 1u);
  Key key{gen[0][0].as<std::string>(), gen[0][1].as<std::string>()};

  Session app(AppDsn());
  VerifyRow v = VerifyParam(app, key.text);
  EXPECT_EQ(v.code, "VALID");
  EXPECT_EQ(v.key_id, key.id);
  EXPECT_EQ(v.user_id, user);

  // NULL, a near miss and garbage as parameters: MALFORMED, never an error.
  EXPECT_EQ(VerifyParam(app, nullptr).code, "MALFORMED");
  std::string typo = key.text;
  typo[10] = typo[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(VerifyParam(app, typo).code, "MALFORMED");
  EXPECT_EQ(VerifyParam(app, std::string(5000, 'x') + "'; DROP TABLE x; --").code, "MALFORMED");

  // authenticate with both parameters, as a prepared-statement client would.
  app.Begin();
  VerifyRow auth = VerifyRowOf(
      app.ExecParams(std::string("SELECT ") + kVerifyColumns + " FROM insight.authenticate($1, $2)",
                     key.text, "transaction"));
  EXPECT_EQ(auth.code, "VALID");
  Whoami w = WhoamiOf(app);
  EXPECT_EQ(w.key_id, key.id);
  EXPECT_EQ(w.scope, "transaction");
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{key.id});
  app.Commit();
  EXPECT_EQ(WhoamiOf(app).kind, "nobody");

  // revoke_key with a parameter, by the owner acting through the admin session.
  admin_->Begin();
  admin_->ExecParams("SELECT insight.act_as($1::uuid)", user);
  admin_->ExecParams("SELECT insight.revoke_key($1::uuid)", key.id);
  admin_->Commit();
  EXPECT_EQ(VerifyParam(app, key.text).code, "NOT_FOUND");
}

// Verify never writes on its hot path, so it works where nothing may
// be written (a hot standby; here, read-only transactions). authenticate and
// the views must too: an API tier may run against a replica.
TEST_F(SessionsTest, VerifyAndAuthenticateWorkInReadOnlyTransactions) {
  auto [org, user, key] = NewMember("read_write");

  Session app(AppDsn());
  app.Begin();
  app.Exec("SET TRANSACTION READ ONLY");
  EXPECT_EQ(app.Scalar("SHOW transaction_read_only"), "on");
  EXPECT_EQ(Verify(app, key.text).code, "VALID");
  EXPECT_EQ(Verify(app, key.text).code, "VALID");
  VerifyRow auth = AuthenticateRow(app, key.text);
  EXPECT_EQ(auth.code, "VALID");
  EXPECT_EQ(WhoamiOf(app).key_id, key.id);
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{key.id});
  app.Commit();

  // Every transaction of the session read-only, as on a standby.
  app.Exec("SET default_transaction_read_only = on");
  EXPECT_EQ(Verify(app, key.text).code, "VALID");
  Authenticate(app, key.text, "session");
  EXPECT_EQ(WhoamiOf(app).key_id, key.id);
  EXPECT_EQ(VisibleKeyIds(app), std::set<std::string>{key.id});
}

// Drivers keep server-side prepared statements; after five executions
// PostgreSQL may switch to a generic cached plan. Neither a plan with the key
// as a parameter nor one with the key as a literal may keep a stale answer.
TEST_F(SessionsTest, PreparedStatementsFollowRevocation) {
  std::string org = CreateOrg();
  Key key = OrgKey(org);

  Session app(AppDsn());
  app.conn().prepare("verify_param", "SELECT code FROM insight.verify($1)");
  app.conn().prepare("verify_literal",
                     "SELECT code FROM insight.verify(" + Quote(app, key.text) + ")");
  for (int i = 0; i < 8; i++) {
    pqxx::nontransaction n(app.conn());
    EXPECT_EQ(n.exec_prepared1("verify_param", key.text)[0].as<std::string>(), "VALID");
    EXPECT_EQ(n.exec_prepared1("verify_literal")[0].as<std::string>(), "VALID");
  }

  Revoke(key);

  pqxx::nontransaction n(app.conn());
  EXPECT_EQ(n.exec_prepared1("verify_param", key.text)[0].as<std::string>(), "NOT_FOUND");
  EXPECT_EQ(n.exec_prepared1("verify_literal")[0].as<std::string>(), "NOT_FOUND");
}

// A failed authenticate raises 28000 and its message never echoes the key.
TEST_F(SessionsTest, FailedAuthenticateDoesNotEchoTheKey) {
  std::string org = CreateOrg();
  Key key = OrgKey(org);
  Revoke(key);

  Session app(AppDsn());
  std::string message;
  EXPECT_EQ(AuthenticateError(app, key.text, &message), "28000");
  EXPECT_EQ(message.find(key.text), std::string::npos) << message;
  // Not even the secret part alone.
  EXPECT_EQ(message.find(key.text.substr(24, 43)), std::string::npos) << message;
  EXPECT_EQ(WhoamiOf(app).kind, "nobody");
}

// pg_stat_activity of a session whose extended-protocol Parse failed: the
// backend published the statement text before parsing it, and the session,
// idle after the error, would keep showing the key to every other session of
// its role and to pg_read_all_stats (docs/SECURITY.md, "Statement texts").
TEST_F(SessionsTest, FailedParseLeavesNoKeyInPgStatActivity) {
  std::string org = CreateOrg();
  Key key = OrgKey(org);

  Session app(AppDsn());
  std::string statement = "SELECTT code FROM insight.verify(" + Quote(app, key.text) + ")";
  // libpqxx 6 sends the Parse at first use, 7 at prepare(): either throws.
  auto prepare_and_run = [&app, &statement]() {
    app.conn().prepare("failing_parse", statement);
    pqxx::nontransaction n(app.conn());
    n.exec_prepared("failing_parse");
  };
  EXPECT_THROW(prepare_and_run(), pqxx::sql_error);
  // PQprepare returned after ReadyForQuery, and the backend reports itself
  // idle before sending that: the slot read below is the one it keeps.
  pqxx::result r =
      admin_->ExecParams("SELECT state, query FROM pg_catalog.pg_stat_activity WHERE pid = $1",
                         app.conn().backendpid());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "idle");
  std::string shown = r[0][1].as<std::string>();
  EXPECT_EQ(shown.find(key.text.substr(11)), std::string::npos) << shown;
  EXPECT_EQ(
      shown.rfind("SELECTT code FROM insight.verify('" + key.text.substr(0, 11) + "...[REDACTED]')",
                  0),
      0u)
      << shown;
}

// An untrusted login role cannot pick a user to act as.
TEST_F(SessionsTest, ActAsIsRefusedToAnUntrustedRole) {
  std::string org = CreateOrg();
  std::string user = CreateUser(org, "org_admin");
  Session app(AppDsn());
  std::string message;
  EXPECT_EQ(app.ErrorOf("SELECT insight.act_as('" + user + "')", &message), "42501") << message;
  EXPECT_EQ(WhoamiOf(app).kind, "nobody");
}

}  // namespace
}  // namespace insight_integration
