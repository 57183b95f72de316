-- Forgery attempts that must all fail (docs/SECURITY.md): the principal cannot be
-- set by SET or set_config, by writing a table, by calling an internal
-- function, or by act_as() from a role the DBA did not mark; the hash is
-- unreadable; a principal never outlives its scope or its key.
CREATE ROLE regress_fg_admin NOLOGIN;
CREATE ROLE regress_fg_user NOLOGIN;
SELECT insight.create_organization('fg-org') AS org \gset
SELECT insight.create_user('fg-admin@example.com', db_role => 'regress_fg_admin', platform_admin => true) AS admin_id \gset
SELECT insight.create_user('fg-user@example.com', db_role => 'regress_fg_user') AS user_id \gset
SELECT insight.set_membership(:'user_id', :'org', 'read_only');
SET ROLE regress_fg_user;
SELECT key_id AS ukey_id, api_key AS ukey FROM insight.generate_user_key(:'org', 'fg user key') \gset
RESET ROLE;
SELECT key_id AS okey_id, api_key AS okey FROM insight.generate_org_key(:'org', 'fg org key') \gset

-- ---------------------------------------------------------------- settings
-- The insight.* prefix is reserved: no placeholder can be created, by anyone,
-- in any scope; the extension's own settings are not session-settable.
SET ROLE regress_untrusted_app;
SELECT regress_try('SET insight.principal = ''operator''') AS set_principal,
       regress_try('SET insight.user_id = ''00000000-0000-0000-0000-000000000000''') AS set_user_id,
       regress_try('SET LOCAL insight.role = ''org_admin''') AS set_local_role,
       regress_try('SET SESSION insight.key_id = ''x''') AS set_session_key_id,
       regress_try('RESET insight.principal') AS reset_principal_guc;
SELECT regress_try('SELECT set_config(''insight.user_id'', ''x'', false)') AS set_config_session,
       regress_try('SELECT set_config(''insight.principal'', ''operator'', true)') AS set_config_local,
       regress_try('SELECT set_config(''insight.cascade_batch_size'', ''1'', false)') AS set_real_setting,
       regress_try('SET insight.cascade_max_attempts = 1') AS set_real_setting_2;
SELECT kind FROM insight.whoami();
RESET ROLE;
-- Not even a superuser, nor through role or database defaults.
SELECT regress_try('SET insight.principal = ''operator''') AS superuser_set,
       regress_try('ALTER ROLE regress_fg_user SET insight.principal = ''operator''') AS alter_role_set,
       regress_try(format('ALTER DATABASE %I SET insight.user_id = ''x''', current_database())) AS alter_database_set;
SELECT count(*) AS forged_settings FROM pg_settings
 WHERE name IN ('insight.principal', 'insight.user_id', 'insight.role', 'insight.key_id');
SELECT count(*) AS role_or_db_defaults FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE c LIKE 'insight.%';

-- ---------------------------------------------------------------- base tables
-- No role, not even a platform admin's or the operator's, writes a base table.
CREATE FUNCTION public.regress_fg_writes() RETURNS TABLE (statement text, result text)
LANGUAGE plpgsql AS $f$
DECLARE
  stmts text[] := ARRAY[
    'INSERT INTO insight.api_keys (lookup_id, kind, org_id, created_by_label, name, hint, secret_hash) SELECT ''x'', ''organization'', id, ''x'', ''x'', ''x'', ''\x00'' FROM insight.organizations LIMIT 1',
    'UPDATE insight.api_keys SET expires_at = NULL',
    'UPDATE insight.api_keys SET org_id = org_id',
    'DELETE FROM insight.api_keys',
    'TRUNCATE insight.api_keys',
    'INSERT INTO insight.users (email, is_platform_admin, db_role) VALUES (''fg-forged@example.com'', true, current_user)',
    'UPDATE insight.users SET is_platform_admin = true',
    'UPDATE insight.users SET db_role = current_user',
    'DELETE FROM insight.users',
    'INSERT INTO insight.memberships (user_id, org_id, role) SELECT u.id, o.id, ''org_admin'' FROM insight.users u, insight.organizations o',
    'UPDATE insight.memberships SET role = ''org_admin''',
    'DELETE FROM insight.memberships',
    'INSERT INTO insight.organizations (name) VALUES (''fg-forged'')',
    'DELETE FROM insight.organizations',
    'INSERT INTO insight.audit_log (actor_kind, action) VALUES (''operator'', ''forged'')',
    'UPDATE insight.audit_log SET action = ''forged''',
    'DELETE FROM insight.audit_log',
    'TRUNCATE insight.audit_log',
    'INSERT INTO insight.cascade_queue (event, actor_kind) VALUES (''user_deleted'', ''operator'')',
    'UPDATE insight.cascade_queue SET state = ''done''',
    'DELETE FROM insight.cascade_queue',
    'INSERT INTO insight.keys (name) VALUES (''x'')',
    'UPDATE insight.keys SET name = ''x''',
    'DELETE FROM insight.keys',
    'DELETE FROM insight.audit',
    'UPDATE insight.cascades SET state = ''done'''];
  s text;
BEGIN
  FOREACH s IN ARRAY stmts LOOP
    statement := s;
    result := public.regress_try(s);
    RETURN NEXT;
  END LOOP;
END
$f$;
SELECT count(*) AS keys_before FROM insight.api_keys \gset
SELECT count(*) AS audit_before FROM insight.audit_log \gset
SET ROLE regress_nobody;
SELECT result, count(*) FROM regress_fg_writes() GROUP BY result ORDER BY result;
RESET ROLE;
SET ROLE regress_fg_admin;
SELECT kind, platform_admin FROM insight.whoami();
SELECT result, count(*) FROM regress_fg_writes() GROUP BY result ORDER BY result;
RESET ROLE;
SET ROLE regress_operator;
SELECT * FROM regress_fg_writes();
RESET ROLE;
SET ROLE regress_app;
BEGIN;
SELECT code FROM insight.authenticate(:'okey');
SELECT result, count(*) FROM regress_fg_writes() GROUP BY result ORDER BY result;
ROLLBACK;
RESET ROLE;
SELECT count(*) = :keys_before AS keys_unchanged FROM insight.api_keys;
SELECT count(*) = :audit_before AS audit_unchanged, count(*) FILTER (WHERE action = 'forged') AS forged_rows
  FROM insight.audit_log;
SELECT count(*) AS forged_identities FROM insight.users WHERE email = 'fg-forged@example.com' OR db_role = 'regress_nobody';

-- ---------------------------------------------------------------- the hash
-- secret_hash and lookup_id are readable by no role; the views have no such column.
SET ROLE regress_fg_admin;
SELECT regress_try('SELECT secret_hash FROM insight.api_keys') AS select_hash,
       regress_try('SELECT lookup_id FROM insight.api_keys') AS select_lookup,
       regress_try('SELECT * FROM insight.api_keys') AS select_star,
       regress_try('SELECT count(*) FROM insight.api_keys WHERE secret_hash IS NOT NULL') AS filter_on_hash,
       regress_try('SELECT secret_hash FROM insight.keys') AS hash_in_view,
       regress_try('SELECT id, kind, name, hint FROM insight.api_keys') AS granted_columns;
RESET ROLE;
SELECT c.relname, string_agg(a.attname, ', ' ORDER BY a.attnum) AS columns
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.oid IN ('insight.keys'::regclass, 'insight.audit'::regclass, 'insight.cascades'::regclass)
   AND a.attnum > 0 AND NOT a.attisdropped AND a.attname IN ('secret_hash', 'lookup_id')
 GROUP BY c.relname;
-- Column privileges of PUBLIC on api_keys: never the hash or the lookup id.
SELECT has_column_privilege('regress_nobody', 'insight.api_keys', 'secret_hash', 'SELECT') AS nobody_hash,
       has_column_privilege('regress_operator', 'insight.api_keys', 'secret_hash', 'SELECT') AS operator_hash,
       has_column_privilege('regress_app', 'insight.api_keys', 'lookup_id', 'SELECT') AS app_lookup;

-- ---------------------------------------------------------------- internal functions
SET ROLE regress_untrusted_app;
SELECT regress_try('SELECT insight._on_identity_change()') AS on_identity_change,
       regress_try('SELECT insight._worker_loaded()') AS worker_loaded;
RESET ROLE;
-- Neither internal function is executable by an ordinary role; the RLS
-- predicates are (policies run them as the querying role), and they only
-- answer for the current principal and change nothing.
SELECT has_function_privilege('regress_nobody', 'insight._on_identity_change()', 'EXECUTE') AS on_identity_change,
       has_function_privilege('regress_nobody', 'insight._worker_loaded()', 'EXECUTE') AS worker_loaded,
       has_function_privilege('regress_nobody', 'insight._may_view_key(text, uuid, uuid)', 'EXECUTE') AS may_view_key;
SET ROLE regress_nobody;
SELECT insight._may_view_key('user', :'org', :'user_id') AS may_view_key,
       insight._may_view_cascades() AS may_view_cascades,
       insight._may_manage_organization(:'org') AS may_manage;
SELECT kind FROM insight.whoami();
RESET ROLE;
-- Nor can a role bind the library's C symbols to a function of its own.
CREATE SCHEMA regress_fg_scratch;
GRANT CREATE, USAGE ON SCHEMA regress_fg_scratch TO regress_untrusted_app;
SET ROLE regress_untrusted_app;
SELECT regress_try('CREATE FUNCTION regress_fg_scratch.my_act_as(uuid) RETURNS void LANGUAGE c AS ''$libdir/insight_keys'', ''insight_act_as''') AS bind_act_as,
       regress_try('CREATE FUNCTION regress_fg_scratch.my_trigger() RETURNS trigger LANGUAGE c AS ''$libdir/insight_keys'', ''insight_on_identity_change''') AS bind_trigger;
RESET ROLE;
DROP SCHEMA regress_fg_scratch;

-- ---------------------------------------------------------------- act_as
-- Only members of insight_trusted_app: not an untrusted application, not a
-- mapped user (even a platform admin), not the operator role, not nobody.
SET ROLE regress_untrusted_app;
SELECT regress_try(format('SELECT insight.act_as(%L)', :'admin_id')) AS untrusted_app,
       regress_try(format('SELECT insight.act_as(%L, ''session'')', :'admin_id')) AS untrusted_app_session;
SELECT kind FROM insight.whoami();
RESET ROLE;
SET ROLE regress_fg_admin;
SELECT regress_try(format('SELECT insight.act_as(%L)', :'user_id')) AS platform_admin_role;
RESET ROLE;
SET ROLE regress_operator;
SELECT regress_try(format('SELECT insight.act_as(%L)', :'user_id')) AS operator_role;
RESET ROLE;
SET ROLE regress_nobody;
SELECT regress_try(format('SELECT insight.act_as(%L)', :'user_id')) AS nobody_role;
RESET ROLE;
-- A trusted application may.
SET ROLE regress_app;
BEGIN;
SELECT insight.act_as(:'user_id');
SELECT kind, via, role, scope FROM insight.whoami();
COMMIT;
SELECT kind, via FROM insight.whoami();
RESET ROLE;

-- ---------------------------------------------------------------- scopes
-- authenticate/act_as last until the end of the transaction by default...
SET ROLE regress_app;
BEGIN;
SELECT code FROM insight.authenticate(:'ukey');
SELECT kind, via, role, scope FROM insight.whoami();
COMMIT;
SELECT kind, via, scope FROM insight.whoami();
-- ...also when the transaction fails or rolls back...
BEGIN;
SELECT code FROM insight.authenticate(:'ukey');
ROLLBACK;
SELECT kind FROM insight.whoami();
BEGIN;
SELECT code FROM insight.authenticate(:'ukey');
SELECT 1 / 0;
ROLLBACK;
SELECT kind FROM insight.whoami();
-- ...or the savepoint that set it is rolled back.
BEGIN;
SAVEPOINT s;
SELECT code FROM insight.authenticate(:'ukey');
SELECT kind FROM insight.whoami();
ROLLBACK TO SAVEPOINT s;
SELECT kind FROM insight.whoami();
COMMIT;
-- In autocommit mode, it is gone by the next statement.
SELECT code FROM insight.authenticate(:'ukey');
SELECT kind FROM insight.whoami();
-- A session scope lasts until reset_principal().
SELECT code FROM insight.authenticate(:'ukey', 'session');
SELECT kind, via, scope FROM insight.whoami();
SELECT kind, via, scope FROM insight.whoami();
SELECT insight.reset_principal();
SELECT kind FROM insight.whoami();
-- A failed authenticate leaves no principal and changes none.
SELECT code FROM insight.authenticate(:'ukey', 'session');
SELECT regress_try('SELECT insight.authenticate(''ik_user_nonsense'')') AS bad_key;
SELECT kind, via, scope FROM insight.whoami();
SELECT insight.reset_principal();
RESET ROLE;

-- ---------------------------------------------------------------- revocation ends a principal
-- A session that authenticated with a key loses it the moment the key is revoked.
SET ROLE regress_app;
SELECT code FROM insight.authenticate(:'okey', 'session');
SELECT kind, role FROM insight.whoami();
SELECT count(*) AS keys_seen FROM insight.keys;
SELECT insight.revoke_key(:'okey_id');
SELECT kind FROM insight.whoami();
SELECT count(*) AS keys_seen FROM insight.keys;
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'ukey_id')) AS revoke_with_revoked_key;
SELECT insight.reset_principal();
-- The same for a user key whose owner loses the membership (here a DBA
-- deletes it directly, as the superuser, for whom regress_app's principal
-- does not act: docs/SECURITY.md, "Binding of the principal").
SELECT code FROM insight.authenticate(:'ukey', 'session');
SELECT kind FROM insight.whoami();
RESET ROLE;
DELETE FROM insight.memberships WHERE user_id = :'user_id' AND org_id = :'org';
SET ROLE regress_app;
SELECT kind FROM insight.whoami();
SELECT count(*) AS keys_seen FROM insight.keys;
SELECT insight.reset_principal();
RESET ROLE;

-- ---------------------------------------------------------------- authenticate never echoes a key
CREATE FUNCTION public.regress_fg_auth_error(k text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  msg text; detail text; hint text;
BEGIN
  PERFORM insight.authenticate(k);
  RETURN 'authenticated';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || CASE WHEN position(k IN concat(msg, detail, hint)) > 0
                           OR position(substr(k, 9, 16) IN concat(msg, detail, hint)) > 0
                          THEN ' echoes the key' ELSE ' no echo' END;
END
$f$;
SELECT regress_fg_auth_error(:'ukey') AS removed_owner_key,
       regress_fg_auth_error(:'okey') AS revoked_key,
       regress_fg_auth_error(left(:'ukey', 73) || 'Q') AS malformed_key,
       regress_fg_auth_error('ik_user_' || repeat('A', 66)) AS garbage;
DROP FUNCTION public.regress_fg_auth_error(text);
DROP FUNCTION public.regress_fg_writes();
-- Leave no cascade pending for the next file.
SELECT regress_drain();

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_fg_admin, regress_fg_user;
DROP ROLE regress_fg_admin, regress_fg_user;
RESET client_min_messages;
