-- security_search_path: functions and operators that shadow the ones the
-- extension uses (in public, in an attacker's schema, in pg_temp) and temp
-- tables named like its tables never run, whatever search_path the caller
-- sets, and every fixed function answers exactly as with a clean path.
-- Runs in its own database so the rows it sees are its own.
SELECT current_user AS regress_superuser \gset
\set own_db regress_sec_sp_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE ROLE regress_sec_sp_evil LOGIN;
CREATE ROLE regress_sec_sp_alice LOGIN;
CREATE ROLE regress_sec_sp_bob LOGIN;
CREATE ROLE regress_sec_sp_app LOGIN IN ROLE insight_trusted_app;
CREATE ROLE regress_sec_sp_stranger LOGIN;

-- The attacker's schema and log: every shadow writes a row and a NOTICE.
CREATE SCHEMA regress_sec_evil AUTHORIZATION regress_sec_sp_evil;
GRANT USAGE ON SCHEMA regress_sec_evil TO PUBLIC;
GRANT CREATE ON SCHEMA public TO regress_sec_sp_evil;
SET ROLE regress_sec_sp_evil;
CREATE TABLE regress_sec_evil.log (what text, by_role name DEFAULT current_user);
GRANT INSERT, SELECT ON regress_sec_evil.log TO PUBLIC;
DO $shadows$
DECLARE
  f record;
  o record;
  n int := 0;
BEGIN
  -- function shadows: schema, name, argument types, result type, call
  FOR f IN SELECT * FROM (VALUES
      ('regress_sec_evil', 'lower', 'text', 'text', 'pg_catalog.lower($1)'),
      ('public', 'lower', 'text', 'text', 'pg_catalog.lower($1)'),
      ('regress_sec_evil', 'upper', 'text', 'text', 'pg_catalog.upper($1)'),
      ('regress_sec_evil', 'now', '', 'timestamptz', 'pg_catalog.now()'),
      ('regress_sec_evil', 'clock_timestamp', '', 'timestamptz', 'pg_catalog.clock_timestamp()'),
      ('regress_sec_evil', 'statement_timestamp', '', 'timestamptz', 'pg_catalog.statement_timestamp()'),
      ('regress_sec_evil', 'gen_random_uuid', '', 'uuid', 'pg_catalog.gen_random_uuid()'),
      ('regress_sec_evil', 'length', 'text', 'integer', 'pg_catalog.length($1)'),
      ('regress_sec_evil', 'substr', 'text, integer, integer', 'text', 'pg_catalog.substr($1, $2, $3)'),
      ('regress_sec_evil', 'btrim', 'text', 'text', 'pg_catalog.btrim($1)'),
      ('regress_sec_evil', 'encode', 'bytea, text', 'text', 'pg_catalog.encode($1, $2)'),
      ('regress_sec_evil', 'decode', 'text, text', 'bytea', 'pg_catalog.decode($1, $2)'),
      ('regress_sec_evil', 'sha256', 'bytea', 'bytea', 'pg_catalog.sha256($1)'),
      ('regress_sec_evil', 'digest', 'text, text', 'bytea', 'public.digest($1, $2)'),
      ('regress_sec_evil', 'nextval', 'regclass', 'bigint', 'pg_catalog.nextval($1)'),
      ('regress_sec_evil', 'to_jsonb', 'text', 'jsonb', 'pg_catalog.to_jsonb($1)'),
      ('regress_sec_evil', 'has_table_privilege', 'text, text', 'boolean', 'pg_catalog.has_table_privilege($1, $2)'),
      ('regress_sec_evil', 'current_setting', 'text', 'text', 'pg_catalog.current_setting($1)'),
      ('regress_sec_evil', 'set_config', 'text, text, boolean', 'text', 'pg_catalog.set_config($1, $2, $3)')
    ) AS v(nsp, name, args, ret, call) LOOP
    EXECUTE format($f$CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO regress_sec_evil.log (what) VALUES (%L);
        RAISE NOTICE 'hijack ran: %%', %L;
        RETURN %s;
      END $body$$f$, f.nsp, f.name, f.args, f.ret, f.nsp || '.' || f.name || '(' || f.args || ')',
      f.nsp || '.' || f.name || '(' || f.args || ')', f.call);
    n := n + 1;
  END LOOP;
  -- operator shadows: schema, operator, left type, right type, result type
  FOR o IN SELECT * FROM (VALUES
      ('regress_sec_evil', '=', 'uuid', 'uuid', 'boolean'),
      ('public', '=', 'uuid', 'uuid', 'boolean'),
      ('regress_sec_evil', '=', 'text', 'text', 'boolean'),
      ('regress_sec_evil', '<>', 'text', 'text', 'boolean'),
      ('regress_sec_evil', '=', 'name', 'name', 'boolean'),
      ('regress_sec_evil', '=', 'bytea', 'bytea', 'boolean'),
      ('regress_sec_evil', '=', 'bigint', 'bigint', 'boolean'),
      ('regress_sec_evil', '=', 'integer', 'integer', 'boolean'),
      ('regress_sec_evil', '=', 'boolean', 'boolean', 'boolean'),
      ('regress_sec_evil', '=', 'timestamptz', 'timestamptz', 'boolean'),
      ('regress_sec_evil', '<', 'timestamptz', 'timestamptz', 'boolean'),
      ('regress_sec_evil', '<=', 'timestamptz', 'timestamptz', 'boolean'),
      ('regress_sec_evil', '>', 'timestamptz', 'timestamptz', 'boolean'),
      ('regress_sec_evil', '+', 'bigint', 'bigint', 'bigint'),
      ('regress_sec_evil', '||', 'text', 'text', 'text')
    ) AS v(nsp, op, l, r, ret) LOOP
    n := n + 1;
    EXECUTE format($f$CREATE FUNCTION %I.op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO regress_sec_evil.log (what) VALUES (%L);
        RAISE NOTICE 'hijack ran: %%', %L;
        RETURN $1 OPERATOR(pg_catalog.%s) $2;
      END $body$$f$, o.nsp, n, o.l, o.r, o.ret, o.nsp || '.' || o.op || '(' || o.l || ',' || o.r || ')',
      o.nsp || '.' || o.op || '(' || o.l || ',' || o.r || ')', o.op);
    EXECUTE format('CREATE OPERATOR %I.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %I.op_%s)',
                   o.nsp, o.op, o.l, o.r, o.nsp, n);
  END LOOP;
END
$shadows$;
RESET ROLE;
SELECT count(*) AS shadow_functions FROM pg_proc
 WHERE pronamespace IN ('regress_sec_evil'::regnamespace, 'public'::regnamespace)
   AND proowner = 'regress_sec_sp_evil'::regrole;
SELECT count(*) AS shadow_operators FROM pg_operator
 WHERE oprnamespace IN ('regress_sec_evil'::regnamespace, 'public'::regnamespace);

-- Identities, keys and a baseline answer for each, with the default path.
SELECT insight.create_organization('acme') AS acme \gset
SELECT insight.create_organization('globex') AS globex \gset
SELECT insight.create_user('alice@example.com', 'Alice', false, 'regress_sec_sp_alice') AS alice \gset
SELECT insight.create_user('bob@example.com', 'Bob', false, 'regress_sec_sp_bob') AS bob \gset
SELECT insight.create_user('carol@example.com', 'Carol') AS carol \gset
SELECT insight.set_membership(:'alice', :'acme', 'read_write');
SELECT insight.set_membership(:'bob', :'globex', 'org_admin');
SELECT insight.set_membership(:'carol', :'acme', 'read_only');
SET ROLE regress_sec_sp_alice;
SELECT key_id AS alice_key_id, api_key AS alice_key FROM insight.generate_user_key(:'acme', 'alice one') \gset
RESET ROLE;
SET ROLE regress_sec_sp_bob;
SELECT key_id AS bob_key_id, api_key AS bob_key FROM insight.generate_user_key(:'globex', 'bob one') \gset
SELECT key_id AS globex_key_id, api_key AS globex_key FROM insight.generate_org_key(:'globex', 'globex app') \gset
RESET ROLE;

-- The shadows work on the caller's own statements (so the test can fail):
SET search_path = regress_sec_evil, public, pg_temp, pg_catalog;
SELECT lower('SHADOWED') AS own_statement, gen_random_uuid() IS NOT NULL AS own_uuid;
RESET search_path;
SELECT what FROM regress_sec_evil.log ORDER BY what;
TRUNCATE regress_sec_evil.log;

-- Temporary tables named like the extension's tables, temp functions and a
-- temp operator, as the roles that act below would create them.
CREATE TEMP TABLE api_keys (id uuid, lookup_id text, kind text, org_id uuid, owner_id uuid,
                            secret_hash bytea, expires_at timestamptz);
CREATE TEMP TABLE users (id uuid, email text, is_platform_admin boolean, db_role name);
CREATE TEMP TABLE organizations (id uuid, name text);
CREATE TEMP TABLE memberships (user_id uuid, org_id uuid, role text);
CREATE TEMP TABLE audit_log (id bigint);
CREATE TEMP TABLE cascade_queue (id bigint);
GRANT ALL ON pg_temp.api_keys, pg_temp.users, pg_temp.organizations, pg_temp.memberships,
             pg_temp.audit_log, pg_temp.cascade_queue TO PUBLIC;
INSERT INTO pg_temp.users VALUES (:'alice', 'alice@example.com', true, 'regress_sec_sp_stranger');
INSERT INTO pg_temp.memberships VALUES (:'alice', :'globex', 'org_admin');
CREATE FUNCTION pg_temp.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_sec_evil.log (what) VALUES ('pg_temp.lower(text)'); RETURN $1; END $$;
CREATE FUNCTION pg_temp.uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_sec_evil.log (what) VALUES ('pg_temp.=(uuid,uuid)'); RETURN true; END $$;
CREATE OPERATOR pg_temp.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_temp.uuid_eq);

SELECT 'ik_user_' || repeat('A', 60) AS bad_key, :'alice_key' || 'x' AS long_key \gset

-- Now every fixed function under the hostile path. Results are captured and
-- compared below with the default path, so no shadow runs in the comparison.
SET search_path = regress_sec_evil, public, pg_temp, pg_catalog;
SELECT valid AS v_valid, code AS v_code, key_id AS v_key_id, kind AS v_kind, org_id AS v_org,
       user_id AS v_user, role AS v_role FROM insight.verify(:'alice_key') \gset
SELECT code AS v_org_code, role AS v_org_role, kind AS v_org_kind FROM insight.verify(:'globex_key') \gset
SELECT code AS v_bad_code FROM insight.verify(:'bad_key') \gset
SELECT code AS v_null_code FROM insight.verify(NULL) \gset
SELECT code AS v_gone_code FROM insight.verify(:'long_key') \gset

-- a mapped role reading the views and the base tables
SET ROLE regress_sec_sp_alice;
SELECT kind AS w_kind, via AS w_via, user_id AS w_user FROM insight.whoami() \gset
SELECT string_agg(name, ',' ORDER BY name) AS alice_sees FROM insight.keys \gset
SELECT count(*) AS alice_rows FROM insight.api_keys \gset
SELECT string_agg(name, ',' ORDER BY name) AS alice_orgs FROM insight.organizations \gset
SELECT key_id AS alice2_id, api_key AS alice2_key FROM insight.generate_user_key(:'acme', 'alice two') \gset
SELECT insight.revoke_key(:'alice2_id');
RESET ROLE;

-- a key principal in a transaction
SET ROLE regress_sec_sp_stranger;
BEGIN;
SELECT code AS a_code FROM insight.authenticate(:'bob_key') \gset
SELECT kind AS a_kind, via AS a_via, org_id AS a_org, role AS a_role FROM insight.whoami() \gset
SELECT string_agg(name, ',' ORDER BY name) AS bobkey_sees FROM insight.keys \gset
COMMIT;
SELECT kind AS after_kind FROM insight.whoami() \gset
SELECT count(*) AS stranger_rows FROM insight.keys \gset
RESET ROLE;

-- an organization key, a trusted application, and an org admin managing
SET ROLE regress_sec_sp_stranger;
BEGIN;
SELECT code AS o_code FROM insight.authenticate(:'globex_key', 'transaction') \gset
SELECT string_agg(name, ',' ORDER BY name) AS orgkey_sees FROM insight.keys \gset
ROLLBACK;
RESET ROLE;
SET ROLE regress_sec_sp_app;
BEGIN;
SELECT insight.act_as(:'carol');
SELECT kind AS c_kind, via AS c_via, user_id AS c_user FROM insight.whoami() \gset
SELECT key_id AS carol_key_id, api_key AS carol_key FROM insight.generate_user_key(:'acme', 'carol one') \gset
SELECT insight.reset_principal();
SELECT kind AS c_after_reset FROM insight.whoami() \gset
COMMIT;
RESET ROLE;
SET ROLE regress_sec_sp_bob;
SELECT insight.set_membership(:'carol', :'globex', 'read_only');
SELECT insight.remove_membership(:'carol', :'globex');
RESET ROLE;

-- the operator: identity administration, a DBA's direct writes, cascades
SELECT insight.create_organization('initech') AS initech \gset
SELECT insight.create_user('dave@example.com', 'Dave') AS dave \gset
SELECT insight.set_membership(:'dave', :'initech', 'org_admin');
SELECT insight.set_platform_admin(:'dave', true);
SELECT insight.set_platform_admin(:'dave', false);
UPDATE insight.users SET display_name = 'David' WHERE id OPERATOR(pg_catalog.=) :'dave';
SELECT insight.delete_user(:'dave');
SELECT insight.delete_organization(:'initech');
SELECT insight.apply_cascades() >= 0 AS applied;
SELECT count(*) AS audit_rows FROM insight.audit \gset
SELECT count(*) AS cascade_rows FROM insight.cascades \gset
RESET search_path;

-- Not one shadow ran, and the answers are the clean ones.
SELECT count(*) AS shadows_that_ran FROM regress_sec_evil.log;
SELECT :'v_valid' AS valid, :'v_code' AS code, :'v_key_id' = :'alice_key_id' AS right_key,
       :'v_kind' AS kind, :'v_org' = :'acme' AS right_org, :'v_user' = :'alice' AS right_user,
       :'v_role' AS role;
SELECT :'v_org_code' AS org_code, :'v_org_role' AS org_role, :'v_org_kind' AS org_kind,
       :'v_bad_code' AS bad, :'v_null_code' AS null_key, :'v_gone_code' AS extra_char;
SELECT :'w_kind' AS whoami_kind, :'w_via' AS whoami_via, :'w_user' = :'alice' AS whoami_user,
       :'alice_sees' AS alice_sees, :'alice_rows' AS alice_base_rows, :'alice_orgs' AS alice_orgs;
SELECT code AS revoked_while_shadowed FROM insight.verify(:'alice2_key');
SELECT :'a_code' AS auth, :'a_kind' AS kind, :'a_via' AS via, :'a_org' = :'globex' AS right_org,
       :'a_role' AS role, :'bobkey_sees' AS bob_key_sees, :'after_kind' AS after_commit,
       :'stranger_rows' AS stranger_rows;
SELECT :'o_code' AS org_auth, :'orgkey_sees' AS org_key_sees;
SELECT :'c_kind' AS act_as_kind, :'c_via' AS via, :'c_user' = :'carol' AS right_user,
       :'c_after_reset' AS after_reset;
SELECT code, kind, role FROM insight.verify(:'carol_key');
SELECT k.secret_hash = public.digest(:'carol_key', 'sha256') AS hash_is_sha256_of_key
  FROM insight.api_keys k WHERE k.id = :'carol_key_id';
SELECT (SELECT count(*) FROM insight.memberships WHERE user_id = :'carol') AS carol_memberships,
       (SELECT count(*) FROM insight.users WHERE email = 'dave@example.com') AS dave_rows,
       (SELECT count(*) FROM insight.organizations WHERE name = 'initech') AS initech_rows;
SELECT action FROM insight.audit_log
 WHERE (user_id = :'dave' OR org_id = :'initech') AND action NOT LIKE 'cascade.%'
 GROUP BY action ORDER BY action;
SELECT :'audit_rows'::int > 0 AS operator_sees_audit, :'cascade_rows'::int >= 4 AS operator_sees_cascades;
-- the temp tables were never written by the extension (the one user row is
-- this test's own, which made no one a platform admin above)
SELECT (SELECT count(*) FROM pg_temp.api_keys) AS temp_keys, (SELECT count(*) FROM pg_temp.users) AS temp_users;

-- A stored search_path (ALTER ROLE) is the same as SET.
ALTER ROLE regress_sec_sp_alice SET search_path = regress_sec_evil, public, pg_temp, pg_catalog;
\c - regress_sec_sp_alice
SHOW search_path;
SELECT code FROM insight.verify(:'bob_key');
SELECT kind, via FROM insight.whoami();
SELECT name FROM insight.keys ORDER BY name;
\c - :regress_superuser
SELECT count(*) AS shadows_that_ran FROM regress_sec_evil.log;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_sec_sp_evil, regress_sec_sp_alice, regress_sec_sp_bob, regress_sec_sp_app,
          regress_sec_sp_stranger;
