// insight_console: the "API Keys" page and a small HTTP API over the
// insight_keys extension. One handler per route; pages and scripts live in
// console/static; all data comes from the extension's functions and views.
// Design and security decisions: docs/CONSOLE.md.
#include <httplib.h>

#include <openssl/crypto.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>

#include "api_pool.hpp"
#include "messages.hpp"
#include "session_store.hpp"

namespace insight::console {
namespace {

using json = nlohmann::json;

const char kCookie[] = "insight_session";

struct Config {
  std::string listen = "127.0.0.1";
  int port = 8480;
  std::string db;      // where people log in: host, port, dbname (no user, no password)
  std::string api_db;  // the console's own role, for the HTTP API
  std::string static_dir = INSIGHT_CONSOLE_STATIC_DIR;
  int idle_timeout = 900;
  size_t max_sessions = 50;
  bool secure_cookie = false;
};

std::mutex g_log_lock;

// Log lines carry method, path, status and role names; never a header, a
// body, a query string, a password or a key.
void Log(const std::string& line) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
  std::lock_guard<std::mutex> g(g_log_lock);
  std::cerr << stamp << " UTC insight_console: " << line << std::endl;
}

// A name typed by a person, safe for one log line (no control characters).
std::string Printable(const std::string& text) {
  std::string out = text.substr(0, 63);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A libpq connection-string value in single quotes.
std::string ConninfoQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// Wipes a string holding a password before it is freed (best effort: the
// request body it came from is freed by httplib).
void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(&s[0], s.size());
  s.clear();
}

// libpqxx 6 throws a subclass for some SQLSTATEs and leaves sqlstate() empty
// for them; the class then names the state.
std::string SqlStateOf(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  if (dynamic_cast<const pqxx::plpgsql_no_data_found*>(&e)) return "P0002";
  if (dynamic_cast<const pqxx::unique_violation*>(&e)) return "23505";
  if (dynamic_cast<const pqxx::data_exception*>(&e)) return "22000";
  return "";
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, json{{"error", message}});
}

std::string Text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

json Nullable(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return f.as<std::string>();
}

// The keys the acting principal sees, exactly as insight.keys shows them.
json KeyRows(pqxx::work& tx) {
  pqxx::result r = tx.exec(
      "SELECT key_id::text, kind, org_id::text, org_name, owner_email, created_by_label, name, "
      "hint,"
      " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
      " to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
      " to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),"
      " to_char(disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"
      " FROM insight.keys ORDER BY created_at, key_id");
  json keys = json::array();
  for (const auto& row : r) {
    keys.push_back({{"key_id", Text(row[0])},
                    {"kind", Text(row[1])},
                    {"org_id", Nullable(row[2])},
                    {"org_name", Nullable(row[3])},
                    {"owner_email", Nullable(row[4])},
                    {"created_by", Nullable(row[5])},
                    {"name", Text(row[6])},
                    {"hint", Text(row[7])},
                    {"created_at", Nullable(row[8])},
                    {"expires_at", Nullable(row[9])},
                    {"last_used_at", Nullable(row[10])},
                    {"disabled_at", Nullable(row[11])}});
  }
  return keys;
}

json Organizations(const pqxx::result& r) {
  json orgs = json::array();
  for (const auto& row : r) orgs.push_back({{"id", Text(row[0])}, {"name", Text(row[1])}});
  return orgs;
}

class Console {
 public:
  explicit Console(Config cfg)
      : cfg_(std::move(cfg)),
        sessions_(std::chrono::seconds(cfg_.idle_timeout), cfg_.max_sessions),
        api_pool_(cfg_.api_db, 4) {}

  void Routes(httplib::Server& svr) {
    svr.set_payload_max_length(64 * 1024);
    if (!svr.set_mount_point("/static", cfg_.static_dir + "/assets")) {
      throw std::runtime_error("static directory not found: " + cfg_.static_dir);
    }
    svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      // req.path has no query string; API keys travel only in a header.
      Log(req.method + " " + req.path + " " + std::to_string(res.status));
    });
    svr.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header(
          "Content-Security-Policy",
          "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
      if (req.path.rfind("/static/", 0) != 0) res.set_header("Cache-Control", "no-store");
    });

    svr.Get("/",
            [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/keys"); });
    svr.Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
      if (CurrentSession(req)) return res.set_redirect("/keys");
      Page(res, "login.html");
    });
    svr.Get("/keys", [this](const httplib::Request& req, httplib::Response& res) {
      if (!CurrentSession(req)) return res.set_redirect("/login");
      Page(res, "keys.html");
    });
    svr.Post("/login",
             [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
    svr.Post("/logout",
             [this](const httplib::Request& req, httplib::Response& res) { Logout(req, res); });
    svr.Get("/app/me", [this](const httplib::Request& req, httplib::Response& res) {
      WithSession(req, res,
                  [](Session& s, pqxx::work& tx, httplib::Response& out) { Me(s, tx, out); });
    });
    svr.Get("/app/keys", [this](const httplib::Request& req, httplib::Response& res) {
      WithSession(req, res, [](Session&, pqxx::work& tx, httplib::Response& out) {
        SendJson(out, 200, json{{"keys", KeyRows(tx)}});
      });
    });
    svr.Post("/app/keys", [this](const httplib::Request& req, httplib::Response& res) {
      WithSession(req, res, [&req](Session&, pqxx::work& tx, httplib::Response& out) {
        Generate(req, tx, out);
      });
    });
    svr.Delete(R"(/app/keys/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string id = req.matches[1];
      WithSession(req, res, [&id](Session&, pqxx::work& tx, httplib::Response& out) {
        tx.exec_params("SELECT insight.revoke_key($1::uuid)", id);
        SendJson(out, 200, json{{"revoked", id}});
      });
    });
    svr.Post(R"(/app/keys/([^/]+)/rotate)",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               WithSession(req, res, [&id](Session&, pqxx::work& tx, httplib::Response& out) {
                 Rotate(id, tx, out);
               });
             });
    svr.Post(R"(/app/keys/([^/]+)/disable)",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               WithSession(req, res, [&id](Session&, pqxx::work& tx, httplib::Response& out) {
                 tx.exec_params("SELECT insight.disable_key($1::uuid)", id);
                 SendJson(out, 200, json{{"disabled", id}});
               });
             });
    svr.Post(R"(/app/keys/([^/]+)/enable)",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::string id = req.matches[1];
               WithSession(req, res, [&id](Session&, pqxx::work& tx, httplib::Response& out) {
                 tx.exec_params("SELECT insight.enable_key($1::uuid)", id);
                 SendJson(out, 200, json{{"enabled", id}});
               });
             });

    svr.Get("/api/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
      WithApiKey(req, res, [](pqxx::work& tx, httplib::Response& out) {
        pqxx::result r = tx.exec(
            "SELECT kind, via, user_id::text, org_id::text, key_id::text, role, platform_admin,"
            " scope FROM insight.whoami()");
        const auto& row = r[0];
        SendJson(out, 200,
                 json{{"kind", Nullable(row[0])},
                      {"via", Nullable(row[1])},
                      {"user_id", Nullable(row[2])},
                      {"org_id", Nullable(row[3])},
                      {"key_id", Nullable(row[4])},
                      {"role", Nullable(row[5])},
                      {"platform_admin", !row[6].is_null() && row[6].as<bool>()},
                      {"scope", Nullable(row[7])}});
      });
    });
    svr.Get("/api/v1/keys", [this](const httplib::Request& req, httplib::Response& res) {
      WithApiKey(req, res, [](pqxx::work& tx, httplib::Response& out) {
        SendJson(out, 200, json{{"keys", KeyRows(tx)}});
      });
    });
    svr.Delete(R"(/api/v1/keys/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 std::string id = req.matches[1];
                 WithApiKey(req, res, [&id](pqxx::work& tx, httplib::Response& out) {
                   tx.exec_params("SELECT insight.revoke_key($1::uuid)", id);
                   SendJson(out, 200, json{{"revoked", id}});
                 });
               });
  }

 private:
  void Page(httplib::Response& res, const std::string& name) {
    std::string html = ReadFile(cfg_.static_dir + "/" + name);
    if (html.empty()) return SendError(res, 500, "page missing");
    res.set_content(html, "text/html; charset=utf-8");
  }

  std::string Token(const httplib::Request& req) {
    return CookieValue(req.get_header_value("Cookie"), kCookie);
  }

  std::shared_ptr<Session> CurrentSession(const httplib::Request& req) {
    sessions_.Sweep();
    return sessions_.Find(Token(req));
  }

  // A browser names the page's origin on every cross-site POST; refuse any
  // that is not this server (SameSite=Strict and the CSRF token do the rest).
  static bool SameOrigin(const httplib::Request& req) {
    if (!req.has_header("Origin")) return true;
    return req.get_header_value("Origin") == "http://" + req.get_header_value("Host") ||
           req.get_header_value("Origin") == "https://" + req.get_header_value("Host");
  }

  std::string CookieHeader(const std::string& value, bool expire) {
    std::string c = std::string(kCookie) + "=" + value + "; HttpOnly; SameSite=Strict; Path=/";
    if (expire) c += "; Max-Age=0";
    if (cfg_.secure_cookie) c += "; Secure";
    return c;
  }

  void Login(const httplib::Request& req, httplib::Response& res) {
    // JSON only: an HTML form on another site cannot send it without a
    // preflight, so a cross-site page cannot log a browser in.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0 || !SameOrigin(req))
      return SendError(res, 403, "The sign-in request was refused.");
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("role") ||
        !body.contains("password") || !body["role"].is_string() || !body["password"].is_string())
      return SendError(res, 400, "Enter your account name and password.");
    std::string role = body["role"].get<std::string>();
    std::string password = body["password"].get<std::string>();
    if (body["password"].is_string()) Wipe(body["password"].get_ref<std::string&>());
    if (role.empty() || password.empty() || role.size() > 63 || password.size() > 1000) {
      Wipe(password);
      return SendError(res, 400, "Enter your account name and password.");
    }
    std::string conninfo = cfg_.db + " user=" + ConninfoQuote(role) +
                           " password=" + ConninfoQuote(password) +
                           " application_name=insight_console connect_timeout=10";
    Wipe(password);
    std::unique_ptr<pqxx::connection> db;
    try {
      db = std::make_unique<pqxx::connection>(conninfo);
      Wipe(conninfo);
      // A lost connection ends the session; it is never silently reopened.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      db->inhibit_reactivation(true);
#pragma GCC diagnostic pop
      pqxx::work tx(*db);
      pqxx::result r = tx.exec("SELECT kind, via FROM insight.whoami()");
      tx.commit();
      if (r.empty() || Text(r[0][0]) != "user" || Text(r[0][1]) != "db_role") {
        Log("login refused for role " + Printable(role) + ": not mapped to an Insight user");
        return SendError(res, 403, "This account is not an Insight user. Ask your administrator.");
      }
    } catch (const pqxx::broken_connection&) {
      Wipe(conninfo);
      Log("login failed for role " + Printable(role));
      return SendError(res, 401, "Sign-in failed: the account name or the password is wrong.");
    } catch (const std::exception&) {
      Wipe(conninfo);
      Log("login failed for role " + Printable(role) + ": the database refused the session");
      return SendError(res, 401, "Sign-in failed: the account name or the password is wrong.");
    }
    // A new session for every sign-in (never the token the browser came with),
    // and the browser's earlier session ends.
    sessions_.Remove(Token(req));
    std::string token = sessions_.Create(std::move(db), role);
    if (token.empty())
      return SendError(res, 503, "Too many people are signed in. Try again later.");
    Log("login ok for role " + Printable(role));
    res.set_header("Set-Cookie", CookieHeader(token, false));
    SendJson(res, 200, json{{"ok", true}});
  }

  void Logout(const httplib::Request& req, httplib::Response& res) {
    std::string token = Token(req);
    std::shared_ptr<Session> s = sessions_.Find(token);
    if (!s) return SendError(res, 401, "You are not signed in.");
    if (!SameOrigin(req) || !SecretEquals(req.get_header_value("X-CSRF-Token"), s->csrf_token))
      return SendError(
          res, 403,
          "The request was refused: it did not carry this page's security token. Reload the page.");
    sessions_.Remove(token);
    Log("logout for role " + Printable(s->db_role));
    res.set_header("Set-Cookie", CookieHeader("", true));
    SendJson(res, 200, json{{"ok", true}});
  }

  template <typename Fn>
  void WithSession(const httplib::Request& req, httplib::Response& res, Fn fn) {
    std::string token = Token(req);
    std::shared_ptr<Session> s = CurrentSession(req);
    if (!s)
      return SendJson(
          res, 401,
          json{{"error", "Your session has ended. Sign in again."}, {"signed_out", true}});
    if (req.method != "GET" &&
        (!SameOrigin(req) || !SecretEquals(req.get_header_value("X-CSRF-Token"), s->csrf_token)))
      return SendError(
          res, 403,
          "The request was refused: it did not carry this page's security token. Reload the page.");
    std::lock_guard<std::mutex> g(s->db_lock);
    try {
      pqxx::work tx(*s->db);
      fn(*s, tx, res);
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      std::string state = SqlStateOf(e);
      Log("request refused by the database: SQLSTATE " + (state.empty() ? "unknown" : state));
      ErrorWords w = WordsForSqlState(state, e.what());
      SendError(res, w.http_status, w.message);
    } catch (const pqxx::broken_connection&) {
      sessions_.Remove(token);
      SendJson(res, 401,
               json{{"error", "Your session has ended. Sign in again."}, {"signed_out", true}});
    } catch (const std::exception&) {
      SendError(res, 500, "The console could not complete the request.");
    }
  }

  template <typename Fn>
  void WithApiKey(const httplib::Request& req, httplib::Response& res, Fn fn) {
    if (!req.has_header("X-Api-Key"))
      return SendError(res, 401, "An X-Api-Key header is required.");
    std::string key = req.get_header_value("X-Api-Key");
    std::unique_ptr<pqxx::connection> c;
    try {
      c = api_pool_.Acquire();
    } catch (const std::exception&) {
      return SendError(res, 503, "The database is not reachable.");
    }
    try {
      // One transaction per request: the key is the principal only inside
      // it, which also works through pgbouncer in transaction mode.
      pqxx::work tx(*c);
      tx.exec_params("SELECT 1 FROM insight.authenticate($1)", key);
      Wipe(key);
      fn(tx, res);
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      Wipe(key);
      std::string state = SqlStateOf(e);
      Log("API request refused by the database: SQLSTATE " + (state.empty() ? "unknown" : state));
      ErrorWords w = WordsForSqlState(state, e.what());
      SendError(res, w.http_status, w.message);
    } catch (const std::exception&) {
      Wipe(key);
      SendError(res, 500, "The console could not complete the request.");
    }
    api_pool_.Release(std::move(c));
  }

  static void Me(Session& s, pqxx::work& tx, httplib::Response& res) {
    pqxx::result me = tx.exec(
        "SELECT w.user_id::text, w.platform_admin, u.email, u.display_name,"
        " EXISTS (SELECT 1 FROM insight.memberships m WHERE m.user_id = w.user_id"
        "         AND m.role = 'org_admin')"
        " FROM insight.whoami() w LEFT JOIN insight.users u ON u.id = w.user_id");
    if (me.empty()) throw std::runtime_error("no principal");
    bool platform_admin = !me[0][1].is_null() && me[0][1].as<bool>();
    bool org_admin = me[0][4].as<bool>();
    // The organizations visible to a person are those they belong to (all of
    // them for a platform admin): where they may hold a user key.
    pqxx::result user_orgs =
        tx.exec("SELECT id::text, name FROM insight.organizations ORDER BY name, id");
    // Organization keys: platform admins for every organization, org admins
    // for theirs. The extension decides again when the key is generated.
    pqxx::result org_orgs = tx.exec(
        "SELECT o.id::text, o.name FROM insight.organizations o"
        " WHERE (SELECT platform_admin FROM insight.whoami())"
        "    OR EXISTS (SELECT 1 FROM insight.memberships m"
        "               WHERE m.org_id = o.id AND m.role = 'org_admin'"
        "                 AND m.user_id = (SELECT user_id FROM insight.whoami()))"
        " ORDER BY o.name, o.id");
    SendJson(res, 200,
             json{{"email", Text(me[0][2])},
                  {"display_name", Nullable(me[0][3])},
                  {"account_role", platform_admin ? "Platform administrator"
                                   : org_admin    ? "Organization administrator"
                                                  : "User"},
                  {"csrf_token", s.csrf_token},
                  {"user_key_orgs", Organizations(user_orgs)},
                  {"org_key_orgs", Organizations(org_orgs)}});
  }

  static void Generate(const httplib::Request& req, pqxx::work& tx, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return SendError(res, 400, "The request is not valid.");
    auto str = [&body](const char* k) {
      return body.contains(k) && body[k].is_string() ? body[k].get<std::string>() : std::string();
    };
    std::string kind = str("kind");
    const char* fn = kind == "user"           ? "generate_user_key"
                     : kind == "organization" ? "generate_org_key"
                                              : nullptr;
    if (fn == nullptr) return SendError(res, 400, "The request is not valid.");
    if (str("org_id").empty()) return SendError(res, 400, "Select an organization.");
    // The expiry is a calendar date: the key stops working at 00:00 UTC of that day.
    pqxx::result r =
        tx.exec_params(std::string("SELECT key_id::text, api_key FROM insight.") + fn +
                           "($1::uuid, $2, (NULLIF($3, '')::date::timestamp AT TIME ZONE 'UTC'))",
                       str("org_id"), str("name"), str("expires_on"));
    SendJson(res, 200, json{{"key_id", Text(r[0][0])}, {"api_key", Text(r[0][1])}});
  }

  // Grace 0: the old key is revoked in the same transaction, as Delete does;
  // the new key is shown once, like a generated one.
  static void Rotate(const std::string& id, pqxx::work& tx, httplib::Response& res) {
    pqxx::result r =
        tx.exec_params("SELECT key_id::text, api_key FROM insight.rotate_key($1::uuid)", id);
    SendJson(res, 200, json{{"key_id", Text(r[0][0])}, {"api_key", Text(r[0][1])}});
  }

  Config cfg_;
  SessionStore sessions_;
  ApiPool api_pool_;
};

int Usage() {
  std::cerr << "usage: insight_console --db CONNINFO --api-db CONNINFO [--listen ADDR] [--port N]\n"
               "                       [--static DIR] [--idle-timeout SECONDS] [--max-sessions N]\n"
               "                       [--secure-cookie]\n"
               "  --db      where people log in (host, port, dbname; their role and password\n"
               "            come from the sign-in form)\n"
               "  --api-db  the console's own role, for the X-Api-Key API\n";
  return 2;
}

}  // namespace
}  // namespace insight::console

int main(int argc, char** argv) {
  using namespace insight::console;
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    try {
      if (a == "--db")
        cfg.db = next();
      else if (a == "--api-db")
        cfg.api_db = next();
      else if (a == "--listen")
        cfg.listen = next();
      else if (a == "--port")
        cfg.port = std::stoi(next());
      else if (a == "--static")
        cfg.static_dir = next();
      else if (a == "--idle-timeout")
        cfg.idle_timeout = std::stoi(next());
      else if (a == "--max-sessions")
        cfg.max_sessions = std::stoul(next());
      else if (a == "--secure-cookie")
        cfg.secure_cookie = true;
      else
        return Usage();
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return Usage();
    }
  }
  if (cfg.db.empty() || cfg.api_db.empty() || cfg.idle_timeout <= 0) return Usage();

  // Signals go to one thread, which stops the server; the pool threads never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  httplib::Server svr;
  try {
    Console console(cfg);
    console.Routes(svr);
    std::thread stopper([&svr, stop_signals]() {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      svr.stop();
    });
    stopper.detach();
    if (!svr.bind_to_port(cfg.listen, cfg.port)) {
      std::cerr << "insight_console: cannot listen on " << cfg.listen << ":" << cfg.port << "\n";
      return 1;
    }
    Log("listening on http://" + cfg.listen + ":" + std::to_string(cfg.port) + "/");
    svr.listen_after_bind();
    Log("stopped");
  } catch (const std::exception& e) {
    std::cerr << "insight_console: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
