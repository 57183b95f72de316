-- principal_binding: an explicit principal (authenticate, act_as) acts only
-- for the PostgreSQL role that set it: a SECURITY DEFINER function owned by
-- another role, an index expression run by REINDEX or ANALYZE, a materialized
-- view refreshed by someone else are treated as their own role would be, and
-- none of them may set a principal (42501). DISCARD ALL, RESET ALL and
-- SET/RESET SESSION AUTHORIZATION forget the principal. See docs/SECURITY.md,
-- "Binding of the principal".
\set own_db regress_sec_pb_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
\ir sql/fixtures/regress_try.sql

CREATE ROLE regress_sec_pb_app NOLOGIN;       -- the trusted application
GRANT insight_trusted_app TO regress_sec_pb_app;
CREATE ROLE regress_sec_pb_stranger NOLOGIN;  -- no user: nobody
CREATE ROLE regress_sec_pb_mallory NOLOGIN;   -- read_write member with a user key
CREATE SCHEMA regress_sec_pb_own AUTHORIZATION regress_sec_pb_stranger;
CREATE SCHEMA regress_sec_pb_mal AUTHORIZATION regress_sec_pb_mallory;
GRANT USAGE ON SCHEMA regress_sec_pb_own, regress_sec_pb_mal TO PUBLIC;

SELECT insight.create_organization('pb-org') AS org \gset
SELECT insight.create_user('pb-admin@example.com', platform_admin => true) AS admin_id \gset
SELECT insight.create_user('pb-mallory@example.com', db_role => 'regress_sec_pb_mallory') AS mallory_id \gset
SELECT insight.set_membership(:'mallory_id', :'org', 'read_write');
SET ROLE regress_sec_pb_mallory;
SELECT key_id AS mallory_key_id, api_key AS mallory_key FROM insight.generate_user_key(:'org', 'mallory key') \gset
RESET ROLE;

-- ---------------------------------------------------------------- SECURITY DEFINER
-- A stranger's SECURITY DEFINER functions, called by the trusted application
-- after act_as(platform admin): they run as the stranger, who is nobody.
SET ROLE regress_sec_pb_stranger;
CREATE TABLE regress_sec_pb_own.loot (key_id uuid);
CREATE FUNCTION regress_sec_pb_own.who() RETURNS TABLE (kind text, via text, platform_admin boolean)
SECURITY DEFINER LANGUAGE sql AS $f$ SELECT kind, via, platform_admin FROM insight.whoami() $f$;
CREATE FUNCTION regress_sec_pb_own.mint(org uuid) RETURNS text
SECURITY DEFINER LANGUAGE plpgsql AS $f$
BEGIN
  RETURN public.regress_try(format(
    'INSERT INTO regress_sec_pb_own.loot SELECT key_id FROM insight.generate_org_key(%L, %L)',
    org, 'loot'));
END
$f$;
CREATE FUNCTION regress_sec_pb_own.keys_seen() RETURNS bigint
SECURITY DEFINER LANGUAGE sql AS $f$ SELECT count(*) FROM insight.keys $f$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_sec_pb_own TO PUBLIC;
RESET ROLE;
-- One owned by a mapped user answers as that user (via db_role).
SET ROLE regress_sec_pb_mallory;
CREATE FUNCTION regress_sec_pb_mal.who() RETURNS TABLE (kind text, via text, platform_admin boolean)
SECURITY DEFINER LANGUAGE sql AS $f$ SELECT kind, via, platform_admin FROM insight.whoami() $f$;
-- and one that tries to authenticate on the caller's behalf
CREATE FUNCTION regress_sec_pb_mal.auth(k text) RETURNS text
SECURITY DEFINER LANGUAGE sql AS $f$ SELECT public.regress_try(format('SELECT insight.authenticate(%L, %L)', k, 'session')) $f$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress_sec_pb_mal TO PUBLIC;
RESET ROLE;

SET ROLE regress_sec_pb_app;
SELECT insight.act_as(:'admin_id', 'session');
SELECT kind, via, platform_admin, scope FROM insight.whoami();
SELECT * FROM regress_sec_pb_own.who();
SELECT regress_sec_pb_own.mint(:'org') AS stranger_mints;
SELECT regress_sec_pb_own.keys_seen() AS stranger_sees;
SELECT * FROM regress_sec_pb_mal.who();
SELECT regress_sec_pb_mal.auth(:'mallory_key') AS definer_authenticates;
-- the application still acts as the platform admin, and can do what it may
SELECT kind, via, platform_admin, scope FROM insight.whoami();
SELECT count(*) AS app_sees FROM insight.keys;
RESET ROLE;
SELECT count(*) AS loot FROM regress_sec_pb_own.loot;

-- ---------------------------------------------------------------- SET ROLE
-- Another current role does not act as it (not even the superuser who set the
-- role); it acts again once its role is current again.
SELECT kind, via FROM insight.whoami();
SET ROLE regress_sec_pb_stranger;
SELECT kind, via FROM insight.whoami();
SET ROLE regress_sec_pb_app;
SELECT kind, via FROM insight.whoami();
SELECT insight.reset_principal();
RESET ROLE;

-- ---------------------------------------------------------------- security-restricted operations
-- Mallory's index expression and materialized view, harmless when created,
-- then swapped for one that authenticates with her key; a superuser with a
-- session principal of its own runs REINDEX, ANALYZE and REFRESH.
SET ROLE regress_sec_pb_mallory;
CREATE TABLE regress_sec_pb_mal.trap (k text);
INSERT INTO regress_sec_pb_mal.trap VALUES (:'mallory_key');
CREATE FUNCTION regress_sec_pb_mal.grab(k text) RETURNS text IMMUTABLE LANGUAGE sql AS $f$ SELECT k $f$;
CREATE INDEX trap_grab ON regress_sec_pb_mal.trap (regress_sec_pb_mal.grab(k));
CREATE MATERIALIZED VIEW regress_sec_pb_mal.trap_view AS
  SELECT regress_sec_pb_mal.grab(k) AS g FROM regress_sec_pb_mal.trap WITH NO DATA;
CREATE OR REPLACE FUNCTION regress_sec_pb_mal.grab(k text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM insight.authenticate(k, 'session');
  RETURN k;
END
$f$;
RESET ROLE;
SELECT insight.act_as(:'admin_id', 'session');
SELECT kind, via, platform_admin FROM insight.whoami();
SELECT regress_try('REINDEX TABLE regress_sec_pb_mal.trap') AS reindex;
SELECT kind, via, platform_admin FROM insight.whoami();
SELECT regress_try('ANALYZE regress_sec_pb_mal.trap') AS analyze;
SELECT kind, via, platform_admin FROM insight.whoami();
SELECT regress_try('REFRESH MATERIALIZED VIEW regress_sec_pb_mal.trap_view') AS refresh;
SELECT kind, via, platform_admin FROM insight.whoami();
-- Without a principal of its own, the superuser stays the operator.
SELECT insight.reset_principal();
SELECT regress_try('REINDEX TABLE regress_sec_pb_mal.trap') AS reindex;
SELECT kind, via FROM insight.whoami();

-- ---------------------------------------------------------------- session resets
-- DISCARD ALL (pgbouncer's server_reset_query), RESET ALL and SET/RESET
-- SESSION AUTHORIZATION forget the principal, whatever its scope.
SET ROLE regress_sec_pb_app;
SELECT insight.act_as(:'admin_id', 'session');
RESET ALL;
SELECT current_user, kind, via FROM insight.whoami();
BEGIN;
SELECT insight.act_as(:'admin_id');
RESET ALL;
SELECT kind, via FROM insight.whoami();
COMMIT;
SELECT insight.act_as(:'admin_id', 'session');
DISCARD ALL;
SET ROLE regress_sec_pb_app;
SELECT kind, via FROM insight.whoami();
RESET ROLE;
SELECT insight.act_as(:'admin_id', 'session');
DISCARD ALL;
SELECT kind, via FROM insight.whoami();
-- DISCARD of anything else keeps it.
SELECT insight.act_as(:'admin_id', 'session');
DISCARD PLANS;
SELECT kind, via FROM insight.whoami();
-- SET SESSION AUTHORIZATION: the new session user has no principal, and
-- RESET SESSION AUTHORIZATION does not bring the old one back.
SET SESSION AUTHORIZATION regress_sec_pb_app;
SELECT session_user, kind, via FROM insight.whoami();
RESET SESSION AUTHORIZATION;
SELECT kind, via FROM insight.whoami();
SET SESSION AUTHORIZATION regress_sec_pb_app;
SELECT insight.act_as(:'admin_id', 'session');
SELECT kind, via FROM insight.whoami();
RESET SESSION AUTHORIZATION;
SELECT kind, via FROM insight.whoami();
SET SESSION AUTHORIZATION regress_sec_pb_app;
SELECT kind, via FROM insight.whoami();
SET SESSION AUTHORIZATION DEFAULT;
-- A key principal too.
SET ROLE regress_sec_pb_app;
SELECT code FROM insight.authenticate(:'mallory_key', 'session');
SELECT kind, via FROM insight.whoami();
RESET ALL;
SELECT kind, via FROM insight.whoami();
RESET ROLE;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_sec_pb_app, regress_sec_pb_stranger, regress_sec_pb_mallory;
