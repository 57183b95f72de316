#!/usr/bin/env python3
"""The console's "API Keys" page in headless Chromium, step by step as the
seed describes it, plus the X-Api-Key API. Started by tests/browser/run.sh,
which provides the cluster, the console and chromedriver. Prints one line per
assertion and, last, "assertions: PASSED FAILED"."""

import json
import os
import re
import shlex
import subprocess
import sys
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["CONSOLE_URL"]
PSQL = shlex.split(os.environ["INSIGHT_PSQL"])
SHOTS = os.environ["SHOT_DIR"]
WAIT = 30  # seconds: every wait is explicit, with this deadline
KEY_RE = re.compile(r"ik_(user|org)_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}")

passed = 0
failed = 0
shot_no = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"not ok - {what}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()
    return cond


def psql(sql):
    """Runs SQL as postgres (sent on stdin, so a key is never on a command line)."""
    out = subprocess.run(PSQL, input=sql, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("psql failed: " + out.stderr.strip())
    return out.stdout.strip()


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def verify_code(key):
    return psql(f"SELECT code FROM insight.verify({quote(key)});")


def keys_seen_by(role):
    rows = psql(f"SET ROLE {role}; SELECT name FROM insight.keys ORDER BY name;")
    return sorted(r for r in rows.splitlines() if r and r != "SET")


def key_id_by_name(name):
    return psql(f"SELECT id FROM insight.api_keys WHERE name = {quote(name)};")


def api(method, path, key=None):
    req = urllib.request.Request(BASE + path, method=method)
    if key is not None:
        req.add_header("X-Api-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        body = e.read()
        return e.code, json.loads(body) if body else {}


def http(method, path, cookie=None, headers=None, body=None):
    req = urllib.request.Request(BASE + path, method=method, data=body)
    if cookie:
        req.add_header("Cookie", "insight_session=" + cookie)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def shot(driver, name):
    global shot_no
    shot_no += 1
    driver.save_screenshot(os.path.join(SHOTS, f"{shot_no:02d}-{name}.png"))


def wait(driver):
    return WebDriverWait(driver, WAIT)


def visible_text(driver, id_):
    el = driver.find_element(By.ID, id_)
    return el.text if el.is_displayed() else ""


def login(driver, role, password, expect_ok=True):
    driver.delete_all_cookies()
    driver.get(BASE + "/login")
    wait(driver).until(EC.element_to_be_clickable((By.ID, "login-submit")))
    driver.find_element(By.ID, "login-role").send_keys(role)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    if expect_ok:
        wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    else:
        wait(driver).until(EC.visibility_of_element_located((By.ID, "login-error")))


def rows(driver, table):
    return driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")


def names_on_page(driver):
    names = []
    for table in ("user-keys", "org-keys"):
        for r in rows(driver, table):
            names.append(r.find_element(By.CSS_SELECTOR, "td.name").get_attribute("textContent"))
    return sorted(names)


def row_for(driver, key_id):
    found = driver.find_elements(By.CSS_SELECTOR, f'tr[data-key-id="{key_id}"]')
    return found[0] if found else None


def panel_orgs(driver):
    return [o.get_attribute("textContent")
            for o in driver.find_elements(By.CSS_SELECTOR, "#panel-org option") if o.get_attribute("value")]


def generate(driver, kind, org_name, key_name):
    """Opens the panel, fills it, generates; returns the key read from the window."""
    if kind == "user":
        driver.find_element(By.ID, "tab-user").click()
        driver.find_element(By.ID, "new-user-key").click()
    else:
        driver.find_element(By.ID, "tab-org").click()
        driver.find_element(By.ID, "new-org-key").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "panel")))
    title = driver.find_element(By.ID, "panel-title").text
    check(title == ("Generate New User Key" if kind == "user" else "Generate New Organization Key"),
          f"the {kind} panel is titled as the seed says", title)
    for o in driver.find_elements(By.CSS_SELECTOR, "#panel-org option"):
        if o.get_attribute("textContent") == org_name:
            o.click()
    driver.find_element(By.ID, "panel-name").send_keys(key_name)
    shot(driver, f"{kind}-panel")
    driver.find_element(By.ID, "panel-generate").click()
    wait(driver).until(lambda d: d.execute_script("return document.getElementById('key-window').open"))
    key = driver.find_element(By.ID, "key-value").get_attribute("value")
    window = driver.find_element(By.ID, "key-window").text
    check("Copy the key. You will not be able to view it again after you close the window." in window,
          "the key window carries the seed's warning")
    check(driver.find_element(By.ID, "key-copy").text == "Copy", "the key window has a Copy button")
    shot(driver, f"{kind}-key-window")
    driver.find_element(By.ID, "key-copy").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "key-copied")))
    driver.find_element(By.ID, "key-close").click()
    wait(driver).until(lambda d: not d.execute_script("return document.getElementById('key-window').open"))
    return key


def read_key_window(driver, name):
    """Waits for the one-time key window, checks it, copies, closes; returns the key."""
    wait(driver).until(lambda d: d.execute_script("return document.getElementById('key-window').open"))
    key = driver.find_element(By.ID, "key-value").get_attribute("value")
    window = driver.find_element(By.ID, "key-window").text
    check("Copy the key. You will not be able to view it again after you close the window." in window,
          f"the {name} window carries the seed's warning")
    check(driver.find_element(By.ID, "key-copy").text == "Copy", f"the {name} window has a Copy button")
    shot(driver, f"{name}-key-window")
    driver.find_element(By.ID, "key-copy").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "key-copied")))
    driver.find_element(By.ID, "key-close").click()
    wait(driver).until(lambda d: not d.execute_script("return document.getElementById('key-window').open"))
    return key


def row_state(driver, key_id):
    """(state cell, toggle button) of a key's row, read in one script: the list
    re-renders after every change, so element handles would go stale."""
    found = driver.execute_script(
        """const tr = document.querySelector('tr[data-key-id="' + arguments[0] + '"]');
           if (!tr) return null;
           return [tr.querySelector('td.state').textContent, tr.querySelector('button.toggle').textContent];""",
        key_id)
    return tuple(found) if found else None


def wait_for_row(driver, key_id, present):
    wait(driver).until(lambda d: (row_for(d, key_id) is not None) == present)


def fetch(driver, method, path, token_expr):
    """A fetch from the page itself (its cookie goes along); returns the status."""
    return driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           const headers = {'Content-Type': 'application/json'};
           const token = """ + token_expr + """;
           if (token !== null) headers['X-CSRF-Token'] = token;
           fetch(arguments[1], {method: arguments[0], headers, credentials: 'same-origin',
                                body: arguments[0] === 'POST' ? arguments[2] : undefined})
             .then(r => done(r.status), e => done(-1));""",
        method, path, json.dumps({"kind": "user", "org_id": psql("SELECT id FROM insight.organizations WHERE name = 'Acme';"),
                                  "name": "forged"}))


def post_key(driver, body):
    """POST /app/keys from the page with its CSRF token; returns (status, JSON)."""
    return driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch('/app/me', {credentials: 'same-origin'}).then(r => r.json()).then(me =>
             fetch('/app/keys', {method: 'POST', credentials: 'same-origin',
                                 headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                                 body: arguments[0]}))
           .then(r => r.json().then(j => done([r.status, j])), e => done([-1, {}]));""",
        json.dumps(body))


def fetch_json(driver, path):
    """An empty POST to path from the page with its CSRF token; returns (status, JSON)."""
    return driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
           fetch('/app/me', {credentials: 'same-origin'}).then(r => r.json()).then(me =>
             fetch(arguments[0], {method: 'POST', credentials: 'same-origin',
                                  headers: {'X-CSRF-Token': me.csrf_token}}))
           .then(r => r.json().then(j => done([r.status, j])), e => done([-1, {}]));""",
        path)


def main(driver):
    acme_keys = ["Acme CI", "admin script", "plain laptop"]
    all_keys = sorted(acme_keys + ["Globex SIEM", "globex tool"])

    # -- the console's own role is nobody until a key authenticates
    check(psql("SET ROLE console_api; SELECT kind FROM insight.whoami();").splitlines()[-1] == "nobody"
          and psql("SET ROLE console_api; SELECT count(*) FROM insight.keys;").splitlines()[-1] == "0",
          "the console's API role alone is nobody and sees no key")
    check(psql("SELECT rolsuper OR pg_has_role('console_api', 'insight_operator', 'MEMBER')"
               " OR pg_has_role('console_api', 'insight_trusted_app', 'MEMBER')"
               " FROM pg_roles WHERE rolname = 'console_api';") == "f",
          "the console's API role is no superuser, operator or trusted application")

    # -- log in: a wrong password and a role that is no Insight user are refused
    login(driver, "ik_plain", "wrong-password", expect_ok=False)
    check("Sign-in failed" in visible_text(driver, "login-error"), "a wrong password is refused",
          visible_text(driver, "login-error"))
    check(driver.get_cookie("insight_session") is None, "a refused log in sets no session cookie")
    shot(driver, "login-refused")
    login(driver, "ik_unmapped", "unmapped-secret-5", expect_ok=False)
    check("not an Insight user" in visible_text(driver, "login-error"),
          "a login role not mapped to an Insight user is refused", visible_text(driver, "login-error"))

    # -- a plain user: own keys only, no "New Organization Key"
    login(driver, "ik_plain", "plain-secret-1")
    check(driver.current_url == BASE + "/keys", "the plain user lands on the API Keys page", driver.current_url)
    check(driver.find_element(By.TAG_NAME, "h1").text == "API Keys", "the page is titled API Keys")
    tabs = [driver.find_element(By.ID, t).text for t in ("tab-user", "tab-org")]
    check(tabs == ["User Keys", "Organization Keys"], "the tabs are User Keys and Organization Keys", str(tabs))
    check(names_on_page(driver) == ["plain laptop"] == keys_seen_by("ik_plain"),
          "the plain user sees exactly their own key, as insight.keys shows it", str(names_on_page(driver)))
    check(not driver.find_element(By.ID, "new-org-key").is_displayed(),
          "no New Organization Key button for a plain user (Organization Keys tab)")
    driver.find_element(By.ID, "tab-org").click()
    check(not driver.find_element(By.ID, "new-org-key").is_displayed() and
          len(driver.find_elements(By.ID, "new-org-key")) == 1 and
          driver.find_element(By.ID, "new-org-key").get_attribute("hidden") is not None,
          "the New Organization Key button stays hidden on the Organization Keys tab")
    check(driver.find_element(By.ID, "org-key-note").is_displayed(),
          "the Organization Keys tab tells a plain user who may generate organization keys")
    shot(driver, "plain-user-org-tab")
    driver.find_element(By.ID, "tab-user").click()
    check(driver.find_element(By.ID, "new-user-key").text == "New User Key", "the plain user has New User Key")
    shot(driver, "plain-user-keys")

    cookie = driver.get_cookie("insight_session")
    check(cookie is not None and cookie.get("httpOnly") is True and cookie.get("sameSite") == "Strict"
          and cookie.get("path") == "/", "the session cookie is HttpOnly, SameSite=Strict, Path=/", str(cookie))
    check("insight_session" not in driver.execute_script("return document.cookie"),
          "the page's script cannot read the session cookie")

    # generate a user key: shown once, then nowhere on the page
    driver.find_element(By.ID, "new-user-key").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "panel")))
    check(panel_orgs(driver) == ["Acme"], "the plain user's organization select offers only Acme",
          str(panel_orgs(driver)))
    driver.find_element(By.ID, "panel-cancel").click()
    wait(driver).until(EC.invisibility_of_element_located((By.ID, "panel")))
    key = generate(driver, "user", "Acme", "browser user key")
    check(KEY_RE.fullmatch(key or "") is not None and key.startswith("ik_user_"),
          "the window showed a user key")
    key_id = key_id_by_name("browser user key")
    wait_for_row(driver, key_id, True)
    hint = row_for(driver, key_id).find_element(By.CSS_SELECTOR, "td.hint").text
    check(key not in driver.page_source and key not in driver.execute_script("return document.body.innerText")
          and driver.find_element(By.ID, "key-value").get_attribute("value") == "",
          "after the window closed the key is nowhere on the page")
    check(hint != "" and hint != key and hint in driver.page_source, "the list shows the new key by its hint", hint)
    check(verify_code(key) == "VALID", "the generated user key verifies VALID in the database")
    shot(driver, "plain-user-after-generate")

    # delete: dismissing the confirmation keeps the key, accepting revokes it
    row_for(driver, key_id).find_element(By.CSS_SELECTOR, "button.delete").click()
    alert = wait(driver).until(EC.alert_is_present())
    check("permanent" in alert.text, "Delete asks for confirmation", alert.text)
    alert.dismiss()
    check(row_for(driver, key_id) is not None and verify_code(key) == "VALID",
          "dismissing the confirmation keeps the key")
    row_for(driver, key_id).find_element(By.CSS_SELECTOR, "button.delete").click()
    wait(driver).until(EC.alert_is_present()).accept()
    wait_for_row(driver, key_id, False)
    check(verify_code(key) == "NOT_FOUND", "accepting the confirmation revokes the key (NOT_FOUND)")
    check("was deleted" in visible_text(driver, "message"), "the page says the key was deleted")
    shot(driver, "plain-user-after-delete")

    # rotate: a new key shown once, the old one revoked at once
    old_key = generate(driver, "user", "Acme", "browser rotated key")
    old_id = key_id_by_name("browser rotated key")
    wait_for_row(driver, old_id, True)
    row_for(driver, old_id).find_element(By.CSS_SELECTOR, "button.rotate").click()
    alert = wait(driver).until(EC.alert_is_present())
    check("stops working at once" in alert.text, "Rotate asks for confirmation", alert.text)
    alert.dismiss()
    check(row_for(driver, old_id) is not None and verify_code(old_key) == "VALID",
          "dismissing the rotation keeps the key")
    row_for(driver, old_id).find_element(By.CSS_SELECTOR, "button.rotate").click()
    wait(driver).until(EC.alert_is_present()).accept()
    new_key = read_key_window(driver, "rotated")
    check(KEY_RE.fullmatch(new_key or "") is not None and new_key.startswith("ik_user_") and new_key != old_key,
          "the rotation window showed a new user key")
    new_id = psql(f"SELECT key_id FROM insight.verify({quote(new_key)});")
    wait_for_row(driver, old_id, False)
    wait_for_row(driver, new_id, True)
    check(verify_code(new_key) == "VALID", "the rotated key verifies VALID")
    check(verify_code(old_key) == "NOT_FOUND", "the old key answers NOT_FOUND after rotation")
    check(new_key not in driver.page_source and driver.find_element(By.ID, "key-value").get_attribute("value") == "",
          "after the window closed the rotated key is nowhere on the page")
    check(row_state(driver, new_id) == ("Active", "Disable"), "the rotated key's row shows Active",
          str(row_state(driver, new_id)))

    # disable and enable again, each a POST with the CSRF token
    check(fetch(driver, "POST", f"/app/keys/{new_id}/disable", "null") == 403
          and verify_code(new_key) == "VALID", "a disable without the CSRF token is refused (403)")
    row_for(driver, new_id).find_element(By.CSS_SELECTOR, "button.toggle").click()
    wait(driver).until(lambda d: row_state(d, new_id) == ("Disabled", "Enable"))
    check(verify_code(new_key) == "DISABLED", "Disable makes the key answer DISABLED")
    check(psql(f"SELECT disabled_at IS NOT NULL FROM insight.api_keys WHERE id = {quote(new_id)};") == "t",
          "the disabled key has a disabled_at")
    check("was disabled" in visible_text(driver, "message"), "the page says the key was disabled")
    shot(driver, "plain-user-disabled")
    status, body = fetch_json(driver, f"/app/keys/{new_id}/rotate")
    check(status == 409 and body.get("error") == "That key cannot be changed in its current state.",
          "rotating a disabled key gets 409 in words (55000)", f"{status} {body}")
    row_for(driver, new_id).find_element(By.CSS_SELECTOR, "button.toggle").click()
    wait(driver).until(lambda d: row_state(d, new_id) == ("Active", "Disable"))
    check(verify_code(new_key) == "VALID", "Enable makes the key answer VALID again")
    admin_script_id = key_id_by_name("admin script")
    status, body = fetch_json(driver, f"/app/keys/{admin_script_id}/disable")
    check(status == 404 and psql(f"SELECT disabled_at IS NULL FROM insight.api_keys"
                                 f" WHERE id = {quote(admin_script_id)};") == "t",
          "a plain user cannot disable another user's key (404, unchanged)", f"{status} {body}")
    psql(f"SELECT insight.revoke_key({quote(new_id)});")
    driver.refresh()
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    # CSRF: the session cookie alone does not make a POST or a DELETE
    before = psql("SELECT count(*) FROM insight.api_keys;")
    check(fetch(driver, "POST", "/app/keys", "null") == 403, "a POST without the CSRF token is refused (403)")
    check(fetch(driver, "POST", "/app/keys", "'0'.repeat(64)") == 403, "a POST with a wrong CSRF token is refused (403)")
    plain_key_id = key_id_by_name("plain laptop")
    check(fetch(driver, "DELETE", "/app/keys/" + plain_key_id, "null") == 403,
          "a DELETE without the CSRF token is refused (403)")
    check(psql("SELECT count(*) FROM insight.api_keys;") == before, "the refused requests changed nothing")

    # errors come back in words; an expiry date reaches the list
    acme = psql("SELECT id FROM insight.organizations WHERE name = 'Acme';")
    status, body = post_key(driver, {"kind": "organization", "org_id": acme, "name": "not mine"})
    check(status == 403 and body.get("error") == "You are not allowed to do that.",
          "a plain user's organization key request gets 403 in words (42501)", f"{status} {body}")
    status, body = post_key(driver, {"kind": "user", "org_id": acme, "name": "   "})
    check(status == 400 and body.get("error") == "The request is not valid: name must not be blank.",
          "a blank key name gets 400 in words (22023)", f"{status} {body}")
    globex = psql("SELECT id FROM insight.organizations WHERE name = 'Globex';")
    status, body = post_key(driver, {"kind": "user", "org_id": globex, "name": "not a member"})
    check(status in (403, 404) and "api_key" not in body and "error" in body,
          "a user key in an organization one is not a member of is refused", f"{status} {body}")
    status, body = post_key(driver, {"kind": "user", "org_id": acme, "name": "dated", "expires_on": "2030-01-31"})
    check(status == 200 and psql("SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                                 "FROM insight.api_keys WHERE name = 'dated';") == "2030-01-31 00:00",
          "an expiry date is stored as 00:00 UTC of that day", f"{status}")
    status, body = post_key(driver, {"kind": "user", "org_id": acme, "name": "bad date", "expires_on": "soon"})
    check(status == 400 and body.get("error") == "The expiry date is not a valid date.",
          "a malformed expiry date gets 400 in words", f"{status} {body}")
    psql("SELECT insight.revoke_key(id) FROM insight.api_keys WHERE name = 'dated';")

    # log out ends the session on the server
    session = cookie["value"]
    check(http("GET", "/app/me", cookie=session)[0] == 200, "the session answers before logout")
    driver.find_element(By.ID, "logout").click()
    wait(driver).until(EC.url_to_be(BASE + "/login"))
    check(http("GET", "/app/me", cookie=session)[0] == 401, "after logout the old session cookie is refused")
    driver.get(BASE + "/keys")
    check(driver.current_url == BASE + "/login", "after logout the API Keys page sends you to log in")

    # -- an org admin: every key of Acme; generates an organization key
    login(driver, "ik_orgadmin", "orgadmin-secret-2")
    check(names_on_page(driver) == acme_keys == keys_seen_by("ik_orgadmin"),
          "the org admin sees every key of Acme and nothing else", str(names_on_page(driver)))
    driver.find_element(By.ID, "tab-org").click()
    check(driver.find_element(By.ID, "new-org-key").is_displayed(), "the org admin has New Organization Key")
    check(not driver.find_element(By.ID, "org-key-note").is_displayed(), "no such note for the org admin")
    shot(driver, "org-admin-org-keys")
    driver.find_element(By.ID, "new-org-key").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "panel")))
    check(panel_orgs(driver) == ["Acme"], "the org admin may pick only Acme for an organization key",
          str(panel_orgs(driver)))
    driver.find_element(By.ID, "panel-cancel").click()
    wait(driver).until(EC.invisibility_of_element_located((By.ID, "panel")))
    org_key = generate(driver, "organization", "Acme", "browser org key")
    check(org_key.startswith("ik_org_") and KEY_RE.fullmatch(org_key) is not None,
          "the window showed an organization key")
    org_key_id = key_id_by_name("browser org key")
    wait_for_row(driver, org_key_id, True)
    check(org_key not in driver.page_source, "after the window closed the organization key is nowhere on the page")
    check(psql(f"SELECT code || ' ' || kind FROM insight.verify({quote(org_key)});") == "VALID organization",
          "the organization key verifies VALID in the database")
    shot(driver, "org-admin-after-generate")

    # the HTTP API with that key: its own scope, nothing more
    status, body = api("GET", "/api/v1/keys", org_key)
    api_names = sorted(k["name"] for k in body.get("keys", []))
    check(status == 200 and api_names == sorted(acme_keys + ["browser org key"]),
          "GET /api/v1/keys with the organization key lists exactly Acme's keys", f"{status} {api_names}")
    status, body = api("GET", "/api/v1/whoami", org_key)
    check(status == 200 and body.get("kind") == "organization" and body.get("via") == "api_key",
          "GET /api/v1/whoami names the organization key principal", f"{status} {body}")
    status, body = api("GET", "/api/v1/keys", org_key[:-1] + ("A" if org_key[-1] != "A" else "B"))
    check(status == 401 and "error" in body and org_key[:20] not in json.dumps(body),
          "a bad key gets 401 with a JSON error that does not echo it", f"{status} {body}")
    status, body = api("GET", "/api/v1/keys")
    check(status == 401 and "error" in body, "no X-Api-Key header gets 401", f"{status} {body}")
    globex_id = key_id_by_name("Globex SIEM")
    status, body = api("DELETE", "/api/v1/keys/" + globex_id, org_key)
    check(status == 404 and psql(f"SELECT count(*) FROM insight.api_keys WHERE id = {quote(globex_id)};") == "1",
          "the Acme key cannot delete a Globex key (404, key kept)", f"{status} {body}")

    # delete the organization key through the page
    driver.find_element(By.ID, "tab-org").click()
    row_for(driver, org_key_id).find_element(By.CSS_SELECTOR, "button.delete").click()
    wait(driver).until(EC.alert_is_present()).accept()
    wait_for_row(driver, org_key_id, False)
    check(verify_code(org_key) == "NOT_FOUND", "the deleted organization key answers NOT_FOUND")
    check(api("GET", "/api/v1/keys", org_key)[0] == 401, "the deleted organization key gets 401 from the API")
    shot(driver, "org-admin-after-delete")

    # -- a platform admin: every key of every organization
    login(driver, "ik_platform", "platform-secret-3")
    check(names_on_page(driver) == all_keys == keys_seen_by("ik_platform"),
          "the platform admin sees every key of every organization", str(names_on_page(driver)))
    driver.find_element(By.ID, "tab-org").click()
    driver.find_element(By.ID, "new-org-key").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "panel")))
    check(panel_orgs(driver) == ["Acme", "Globex"], "the platform admin may pick any organization",
          str(panel_orgs(driver)))
    shot(driver, "platform-admin-org-panel")
    driver.find_element(By.ID, "panel-cancel").click()

    # -- the API with a plain user's key: own keys only
    user_key = psql("SET ROLE ik_plain; SELECT api_key FROM insight.generate_user_key("
                    "(SELECT id FROM insight.organizations WHERE name = 'Acme'), 'api user key');").splitlines()[-1]
    status, body = api("GET", "/api/v1/keys", user_key)
    api_names = sorted(k["name"] for k in body.get("keys", []))
    check(status == 200 and api_names == ["api user key", "plain laptop"],
          "GET /api/v1/keys with a plain user's key lists only that user's keys", f"{status} {api_names}")
    admin_script = key_id_by_name("admin script")
    status, _ = api("DELETE", "/api/v1/keys/" + admin_script, user_key)
    check(status == 404, "a user key cannot delete another user's key (404)", str(status))
    status, body = api("DELETE", "/api/v1/keys/" + plain_key_id, user_key)
    check(status == 200 and psql(f"SELECT count(*) FROM insight.api_keys WHERE id = {quote(plain_key_id)};") == "0",
          "DELETE /api/v1/keys/{id} revokes the user's own key", f"{status} {body}")
    status, body = api("DELETE", "/api/v1/keys/not-a-uuid", user_key)
    check(status == 400 and "error" in body, "a malformed key id gets 400", f"{status} {body}")


def run():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,860", "--no-first-run", "--disable-extensions",
              "--user-data-dir=" + os.environ["PROFILE_DIR"]):
        opts.add_argument(a)
    driver = webdriver.Remote(command_executor=os.environ["DRIVER_URL"], options=opts)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    try:
        main(driver)
    except (TimeoutException, Exception):  # noqa: BLE001 - any failure counts, then we clean up
        traceback.print_exc()
        check(False, "the browser walk-through ran to its end")
        try:
            shot(driver, "failure")
        except Exception:  # noqa: BLE001
            pass
    finally:
        driver.quit()


if __name__ == "__main__":
    run()
    print(f"assertions: {passed} {failed}")
    sys.exit(1 if failed else 0)
