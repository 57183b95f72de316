-- disable_key / enable_key: the rights of revoke_key, except that an API key
-- principal may disable but never enable; DISABLED in verify (valid false),
-- authenticate refused, a session principal of a disabled key stops at the
-- next statement; audited once (a repeated call changes and records nothing);
-- insight.keys shows disabled_at.
\set pfx dis
\ir sql/fixtures/key_people.sql
-- The keys by label, the snapshot and the tries: 00_setup.
TRUNCATE regress_keys;
SET ROLE regress_dis_owner;
INSERT INTO regress_keys SELECT 'u1', * FROM insight.generate_user_key(:'o', 'owner key');
INSERT INTO regress_keys SELECT 'u2', * FROM insight.generate_user_key(:'o', 'owner key 2');
SET ROLE regress_dis_admin;
INSERT INTO regress_keys SELECT 'org', * FROM insight.generate_org_key(:'o', 'org key');
SET ROLE regress_dis_stranger;
INSERT INTO regress_keys SELECT 'porg', * FROM insight.generate_org_key(:'p', 'P org key');
RESET ROLE;
SELECT key_id AS u1 FROM regress_keys WHERE label = 'u1' \gset
SELECT key_id AS u2 FROM regress_keys WHERE label = 'u2' \gset
SELECT key_id AS org FROM regress_keys WHERE label = 'org' \gset
SELECT key_id AS porg FROM regress_keys WHERE label = 'porg' \gset
CREATE FUNCTION public.dis_code(label text) RETURNS text LANGUAGE sql AS $f$
  SELECT v.code || ' ' || v.valid FROM insight.verify((SELECT api_key FROM public.regress_keys k WHERE k.label = dis_code.label)) v
$f$;

SELECT pg_get_function_identity_arguments('insight.disable_key'::regproc) AS disable_args,
       pg_get_function_result('insight.disable_key'::regproc) AS disable_result,
       pg_get_function_identity_arguments('insight.enable_key'::regproc) AS enable_args;

-- ---- refusals change nothing
SELECT regress_keys_snapshot() AS snap \gset
SELECT label, regress_try_as(who, stmt) AS outcome FROM (VALUES
  ('mate disables owner''s key', 'regress_dis_mate', format('SELECT insight.disable_key(%L)', :'u1')),
  ('mate enables owner''s key', 'regress_dis_mate', format('SELECT insight.enable_key(%L)', :'u1')),
  ('owner disables org key', 'regress_dis_owner', format('SELECT insight.disable_key(%L)', :'org')),
  ('stranger disables O org key', 'regress_dis_stranger', format('SELECT insight.disable_key(%L)', :'org')),
  ('unknown key', NULL, format('SELECT insight.disable_key(%L)', gen_random_uuid())),
  ('unknown key, enable', NULL, format('SELECT insight.enable_key(%L)', gen_random_uuid())),
  ('null key', NULL, 'SELECT insight.disable_key(NULL)'),
  ('null key, enable', NULL, 'SELECT insight.enable_key(NULL)')
) t(label, who, stmt);
SELECT regress_keys_snapshot() = :'snap' AS unchanged;

-- ---- the owner disables its key
SELECT dis_code('u1') AS before;
SET ROLE regress_dis_owner;
SELECT insight.disable_key(:'u1');
SELECT name, disabled_at IS NOT NULL AS disabled FROM insight.keys WHERE key_id = :'u1';
RESET ROLE;
SELECT dis_code('u1') AS after_disable;
SELECT v.valid, v.code, v.key_id = :'u1' AS key_id, v.kind, v.role
  FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u1')) v;
SELECT regress_try(format('SELECT insight.authenticate(%L)', (SELECT api_key FROM regress_keys WHERE label = 'u1'))) AS authenticate;
SELECT action, actor_kind, actor_user_id = :'owner_id' AS by_owner, org_id = :'o' AS org,
       user_id = :'owner_id' AS user, detail->>'name' AS name
  FROM insight.audit_log WHERE key_id = :'u1' AND action LIKE 'key.%abled' ORDER BY id;
-- Idempotent: again changes nothing and records nothing.
SELECT regress_keys_snapshot() AS snap \gset
SET ROLE regress_dis_owner;
SELECT insight.disable_key(:'u1');
RESET ROLE;
SELECT regress_keys_snapshot() = :'snap' AS second_disable_unchanged;
-- Rotation refuses a disabled key.
SELECT regress_try_as('regress_dis_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 hour')) AS rotate_disabled;
-- Enabled again: VALID, audited once.
SET ROLE regress_dis_owner;
SELECT insight.enable_key(:'u1');
SELECT disabled_at IS NULL AS enabled FROM insight.keys WHERE key_id = :'u1';
RESET ROLE;
SELECT dis_code('u1') AS after_enable;
SELECT regress_keys_snapshot() AS snap \gset
SET ROLE regress_dis_owner;
SELECT insight.enable_key(:'u1');
RESET ROLE;
SELECT regress_keys_snapshot() = :'snap' AS second_enable_unchanged;
SELECT string_agg(action, ', ' ORDER BY id) AS events
  FROM insight.audit_log WHERE key_id = :'u1' AND action LIKE 'key.%abled';

-- ---- an org admin manages all keys of its organization
SET ROLE regress_dis_admin;
SELECT insight.disable_key(:'u2');
RESET ROLE;
SELECT dis_code('u2') AS admin_disabled;
SET ROLE regress_dis_admin;
SELECT insight.enable_key(:'u2');
RESET ROLE;
SELECT dis_code('u2') AS admin_enabled;

-- ---- an API key may disable (itself or another key it may manage), never enable
SELECT regress_keys_snapshot() AS snap \gset
SELECT regress_try_as_key('org', format('SELECT insight.enable_key(%L)', :'u2')) AS org_key_enables_enabled,
       regress_try_as_key('org', format('SELECT insight.disable_key(%L)', :'porg')) AS org_key_foreign,
       regress_try_as_key('org', format('SELECT insight.enable_key(%L)', :'porg')) AS org_key_enables_foreign,
       regress_try_as_key('u2', format('SELECT insight.disable_key(%L)', :'org')) AS user_key_org_key;
SELECT regress_keys_snapshot() = :'snap' AS unchanged;
SELECT regress_try_as_key('org', format('SELECT insight.disable_key(%L)', :'u2')) AS org_key_disables;
SELECT dis_code('u2') AS disabled_by_key;
SELECT actor_kind, actor_key_id = :'org' AS by_org_key
  FROM insight.audit_log WHERE key_id = :'u2' AND action = 'key.disabled' ORDER BY id DESC LIMIT 1;
SELECT regress_keys_snapshot() AS snap \gset
SELECT regress_try_as_key('org', format('SELECT insight.enable_key(%L)', :'u2')) AS org_key_enables;
SELECT regress_keys_snapshot() = :'snap' AS unchanged;
SELECT dis_code('u2') AS still_disabled;

-- ---- a session principal of a key that gets disabled stops at the next statement
SELECT code FROM insight.authenticate((SELECT api_key FROM regress_keys WHERE label = 'org'), 'session');
SELECT kind, via FROM insight.whoami();
SELECT insight.disable_key(:'org');
SELECT kind, via FROM insight.whoami();
SELECT count(*) AS keys_seen FROM insight.keys;
SELECT insight.reset_principal();
SELECT dis_code('org') AS self_disabled;
SELECT insight.enable_key(:'org');
SELECT dis_code('org') AS operator_enabled;
-- Disabled beats expired.
UPDATE insight.api_keys SET expires_at = now() - interval '1 second' WHERE id = :'org';
SELECT insight.disable_key(:'org');
SELECT dis_code('org') AS disabled_and_expired;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_dis_owner, regress_dis_admin, regress_dis_mate, regress_dis_stranger;
DROP ROLE regress_dis_owner, regress_dis_admin, regress_dis_mate, regress_dis_stranger;
RESET client_min_messages;
