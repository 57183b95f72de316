-- security_privileges: what an unprivileged role can try against the base
-- tables and views. Leaky functions and operators in a WHERE clause see only
-- the rows the principal may see; COPY, TRUNCATE, REFERENCES, direct DML,
-- DDL on the extension's tables, its sequences and internal functions are all
-- refused (42501) and change nothing; a prepared statement answers for the
-- role that executes it, not the one that prepared it.
SELECT current_user AS regress_superuser \gset
\set own_db regress_sec_pv_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE ROLE regress_sec_pv_alice LOGIN;     -- read_write in acme
CREATE ROLE regress_sec_pv_bob LOGIN;       -- org_admin of globex
CREATE ROLE regress_sec_pv_stranger LOGIN;  -- no user, no key
CREATE SCHEMA regress_sec_pv_own AUTHORIZATION regress_sec_pv_stranger;
GRANT USAGE ON SCHEMA regress_sec_pv_own TO PUBLIC;

SELECT insight.create_organization('acme') AS acme \gset
SELECT insight.create_organization('globex') AS globex \gset
SELECT insight.create_user('alice@example.com', 'Alice', false, 'regress_sec_pv_alice') AS alice \gset
SELECT insight.create_user('bob@example.com', 'Bob', false, 'regress_sec_pv_bob') AS bob \gset
SELECT insight.set_membership(:'alice', :'acme', 'read_write');
SELECT insight.set_membership(:'bob', :'globex', 'org_admin');
SET ROLE regress_sec_pv_alice;
SELECT key_id AS alice_key_id, api_key AS alice_key FROM insight.generate_user_key(:'acme', 'alice one') \gset
RESET ROLE;
SET ROLE regress_sec_pv_bob;
SELECT key_id AS bob_key_id, api_key AS bob_key FROM insight.generate_user_key(:'globex', 'bob one') \gset
SELECT key_id AS globex_key_id FROM insight.generate_org_key(:'globex', 'globex app') \gset
RESET ROLE;

-- Labels, so that leaked uuids print the same in every run.
CREATE TABLE regress_sec_pv_own.labels (val text PRIMARY KEY, label text);
INSERT INTO regress_sec_pv_own.labels VALUES
  (:'acme', 'org acme'), (:'globex', 'org globex'), (:'alice', 'user alice'), (:'bob', 'user bob'),
  (:'alice_key_id', 'key alice one'), (:'bob_key_id', 'key bob one'), (:'globex_key_id', 'key globex app');
ALTER TABLE regress_sec_pv_own.labels OWNER TO regress_sec_pv_stranger;
GRANT SELECT ON regress_sec_pv_own.labels TO PUBLIC;

SET ROLE regress_sec_pv_stranger;
-- The leak: prints its argument, claims to cost nothing so the planner would
-- love to run it first.
CREATE FUNCTION regress_sec_pv_own.leak(v anyelement) RETURNS boolean
  LANGUAGE plpgsql COST 0.0000001 AS $$
DECLARE shown text;
BEGIN
  SELECT l.label INTO shown FROM regress_sec_pv_own.labels l WHERE l.val = v::text;
  RAISE NOTICE 'leak: %', coalesce(shown, v::text);
  RETURN true;
END $$;
CREATE FUNCTION regress_sec_pv_own.leak_eq(a text, b text) RETURNS boolean
  LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
  RAISE NOTICE 'leak_eq: %', a;
  RETURN a = b;
END $$;
CREATE OPERATOR regress_sec_pv_own.=== (LEFTARG = text, RIGHTARG = text,
                                        FUNCTION = regress_sec_pv_own.leak_eq);
-- Runs a statement as the caller and reports its SQLSTATE, in a subtransaction.
CREATE FUNCTION regress_sec_pv_own.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
RESET ROLE;

-- ---------------------------------------------------------------- leaks
SET ROLE regress_sec_pv_alice;
SELECT name FROM insight.keys
 WHERE regress_sec_pv_own.leak(name) AND regress_sec_pv_own.leak(org_id)
   AND regress_sec_pv_own.leak(owner_id) AND regress_sec_pv_own.leak(org_name);
SELECT name FROM insight.api_keys
 WHERE regress_sec_pv_own.leak(name) AND regress_sec_pv_own.leak(id)
   AND regress_sec_pv_own.leak(kind) AND regress_sec_pv_own.leak(owner_id)
   AND regress_sec_pv_own.leak(created_by_label);
SELECT count(*) FROM insight.api_keys WHERE name OPERATOR(regress_sec_pv_own.===) 'bob one';
SELECT count(*) FROM insight.keys WHERE name OPERATOR(regress_sec_pv_own.===) 'globex app';
SET enable_seqscan = off;
SELECT count(*) FROM insight.api_keys WHERE org_id = :'globex' AND regress_sec_pv_own.leak(name);
SELECT count(*) FROM insight.api_keys WHERE id = :'bob_key_id' AND regress_sec_pv_own.leak(name);
RESET enable_seqscan;
SELECT name FROM insight.organizations WHERE regress_sec_pv_own.leak(name);
SELECT email FROM insight.users WHERE regress_sec_pv_own.leak(email) AND regress_sec_pv_own.leak(id);
SELECT role FROM insight.memberships
 WHERE regress_sec_pv_own.leak(org_id) AND regress_sec_pv_own.leak(role);
SELECT action FROM insight.audit_log
 WHERE regress_sec_pv_own.leak(action) AND regress_sec_pv_own.leak(org_id) ORDER BY id;
SELECT count(*) FROM insight.audit
 WHERE regress_sec_pv_own.leak(detail) AND regress_sec_pv_own.leak(key_id);
SELECT count(*) FROM insight.cascade_queue WHERE regress_sec_pv_own.leak(event);
SELECT count(*) FROM insight.cascades WHERE regress_sec_pv_own.leak(event);
-- a subquery and a join do not move the leak below the policy either
SELECT count(*) FROM insight.keys k JOIN insight.api_keys a ON a.id = k.key_id
 WHERE regress_sec_pv_own.leak(a.name);
SELECT count(*) FROM (SELECT name FROM insight.api_keys OFFSET 0) s WHERE regress_sec_pv_own.leak(s.name);
RESET ROLE;

-- a stranger sees and leaks nothing; bob as a key leaks only globex
SET ROLE regress_sec_pv_stranger;
SELECT count(*) FROM insight.keys WHERE regress_sec_pv_own.leak(name);
SELECT count(*) FROM insight.api_keys WHERE regress_sec_pv_own.leak(name);
SELECT count(*) FROM insight.users WHERE regress_sec_pv_own.leak(email);
SELECT count(*) FROM insight.audit_log WHERE regress_sec_pv_own.leak(action);
BEGIN;
SELECT code FROM insight.authenticate(:'bob_key');
SELECT name FROM insight.api_keys WHERE regress_sec_pv_own.leak(name) ORDER BY name;
SELECT email FROM insight.users WHERE regress_sec_pv_own.leak(email);
COMMIT;
RESET ROLE;

-- ---------------------------------------------------------------- refused
SET ROLE regress_sec_pv_alice;
SELECT secret_hash FROM insight.api_keys;
\echo :SQLSTATE
SELECT lookup_id FROM insight.api_keys;
\echo :SQLSTATE
COPY insight.api_keys TO STDOUT;
\echo :SQLSTATE
COPY insight.api_keys (name, secret_hash) TO STDOUT;
\echo :SQLSTATE
\copy insight.api_keys (name, kind) FROM '/dev/null'
\echo :SQLSTATE
\copy insight.audit_log (action) FROM '/dev/null'
\echo :SQLSTATE
-- COPY of granted columns is a SELECT: the policy applies
COPY insight.api_keys (name, kind) TO STDOUT;
COPY (SELECT name FROM insight.keys ORDER BY name) TO STDOUT;
RESET ROLE;

SET ROLE regress_sec_pv_stranger;
SELECT n, regress_sec_pv_own.try(stmt) AS outcome FROM (VALUES
  (1, 'TRUNCATE insight.api_keys'),
  (2, 'TRUNCATE insight.users, insight.organizations, insight.memberships'),
  (3, 'TRUNCATE insight.audit_log'),
  (4, 'TRUNCATE insight.cascade_queue'),
  (5, 'DELETE FROM insight.api_keys'),
  (6, 'UPDATE insight.api_keys SET name = ''x'''),
  (7, 'UPDATE insight.api_keys SET expires_at = now() - interval ''1 day'''),
  (8, 'INSERT INTO insight.api_keys (lookup_id, kind, org_id, created_by_label, name, hint, secret_hash) VALUES (''x'', ''organization'', gen_random_uuid(), ''x'', ''x'', ''x'', ''\x00'')'),
  (9, 'INSERT INTO insight.users (email, is_platform_admin, db_role) VALUES (''me@example.com'', true, current_user)'),
  (10, 'UPDATE insight.users SET db_role = current_user'),
  (11, 'INSERT INTO insight.memberships (user_id, org_id, role) SELECT id, (SELECT id FROM insight.organizations LIMIT 1), ''org_admin'' FROM insight.users LIMIT 1'),
  (12, 'DELETE FROM insight.audit_log'),
  (13, 'UPDATE insight.audit_log SET action = ''x'''),
  (14, 'INSERT INTO insight.audit_log (actor_kind, action) VALUES (''operator'', ''forged'')'),
  (15, 'UPDATE insight.cascade_queue SET state = ''done'''),
  (16, 'INSERT INTO insight.cascade_queue (event, actor_kind) VALUES (''user_deleted'', ''x'')'),
  (17, 'DELETE FROM insight.keys'),  -- 55000: a view over a join is not updatable
  (18, 'UPDATE insight.audit SET action = ''x'''),
  (19, 'DELETE FROM insight.cascades'),
  (20, 'CREATE TABLE regress_sec_pv_own.fk_key (k uuid REFERENCES insight.api_keys (id))'),
  (21, 'CREATE TABLE regress_sec_pv_own.fk_user (u uuid REFERENCES insight.users (id))'),
  (22, 'CREATE TABLE regress_sec_pv_own.fk_org (o uuid REFERENCES insight.organizations (id))'),
  (23, 'CREATE TABLE regress_sec_pv_own.fk_name (n text REFERENCES insight.organizations (name))'),
  (24, 'CREATE TRIGGER t BEFORE INSERT ON insight.api_keys FOR EACH ROW EXECUTE FUNCTION insight._on_identity_change()'),
  (25, 'ALTER TABLE insight.api_keys DISABLE ROW LEVEL SECURITY'),
  (26, 'ALTER TABLE insight.api_keys NO FORCE ROW LEVEL SECURITY'),
  (27, 'CREATE POLICY everything ON insight.api_keys FOR SELECT USING (true)'),
  (28, 'DROP POLICY api_keys_visible ON insight.api_keys'),
  (29, 'ALTER POLICY api_keys_visible ON insight.api_keys USING (true)'),
  (30, 'CREATE INDEX ON insight.api_keys (regress_sec_pv_own.leak(name))'),
  (31, 'CREATE STATISTICS regress_sec_pv_own.s ON kind, org_id FROM insight.api_keys'),
  (32, 'ALTER TABLE insight.api_keys ADD COLUMN x int'),
  (33, 'ALTER TABLE insight.api_keys OWNER TO regress_sec_pv_stranger'),
  (34, 'DROP TABLE insight.api_keys'),
  (35, 'LOCK TABLE insight.api_keys IN ACCESS EXCLUSIVE MODE'),
  (36, 'SELECT nextval(''insight.audit_log_id_seq'')'),
  (37, 'SELECT setval(''insight.cascade_queue_id_seq'', 1)'),
  (38, 'SELECT insight._on_identity_change()'),
  (39, 'SELECT insight._worker_loaded()'),
  (40, 'CREATE OR REPLACE FUNCTION insight.verify(api_key text, OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid, OUT user_id uuid, OUT role text, OUT expires_at timestamptz) LANGUAGE sql AS ''SELECT true, ''''VALID'''', NULL::uuid, NULL, NULL::uuid, NULL::uuid, NULL, NULL::timestamptz'''),
  (41, 'CREATE FUNCTION insight.verify(api_key varchar) RETURNS boolean LANGUAGE sql AS ''SELECT true'''),
  (42, 'CREATE VIEW insight.keys2 AS SELECT 1'),
  (43, 'ALTER VIEW insight.keys SET (security_invoker = false)'),
  (44, 'CREATE OR REPLACE VIEW insight.keys AS SELECT * FROM insight.api_keys'),
  (45, 'GRANT SELECT (secret_hash) ON insight.api_keys TO regress_sec_pv_stranger'),
  (46, 'ALTER TABLE insight.api_keys DISABLE TRIGGER ALL'),
  (47, 'COMMENT ON TABLE insight.api_keys IS ''mine'''),
  (48, 'ALTER EXTENSION insight_keys UPDATE'),
  (49, 'DROP EXTENSION insight_keys'),
  (50, 'ALTER FUNCTION insight.verify(text) SECURITY DEFINER'),
  (51, 'SELECT set_config(''row_security'', ''off'', false); SELECT count(*) FROM insight.api_keys')
) AS v(n, stmt) ORDER BY n;
SELECT count(*) AS stranger_sees_after FROM insight.api_keys;
RESET ROLE;

-- The predefined roles pg_read_all_data and pg_write_all_data grant table
-- privileges, not a way around forced row-level security: a member that is
-- no principal reads nothing, and with SELECT-only policies writes nothing.
CREATE ROLE regress_sec_pv_reader LOGIN IN ROLE pg_read_all_data, pg_write_all_data;
SET ROLE regress_sec_pv_reader;
SELECT count(*) AS rows, count(secret_hash) AS hashes FROM insight.api_keys;
SELECT count(*) AS users FROM insight.users;
SELECT n, regress_sec_pv_own.try(stmt) AS outcome FROM (VALUES
  (1, 'INSERT INTO insight.organizations (name) VALUES (''mine'')'),
  (2, 'INSERT INTO insight.audit_log (actor_kind, action) VALUES (''operator'', ''forged'')'),
  (3, 'TRUNCATE insight.api_keys')
) AS v(n, stmt) ORDER BY n;
WITH u AS (UPDATE insight.users SET is_platform_admin = true RETURNING 1)
SELECT count(*) AS users_updated FROM u;
WITH d AS (DELETE FROM insight.api_keys RETURNING 1) SELECT count(*) AS keys_deleted FROM d;
WITH q AS (UPDATE insight.cascade_queue SET state = 'done' RETURNING 1) SELECT count(*) AS events_updated FROM q;
RESET ROLE;
DROP ROLE regress_sec_pv_reader;

-- nothing changed, for the owner either
SELECT kind, name FROM insight.api_keys ORDER BY name;
SELECT email, is_platform_admin, db_role FROM insight.users ORDER BY email;
SELECT count(*) AS memberships FROM insight.memberships;
SELECT count(*) FILTER (WHERE action = 'forged') AS forged, count(*) > 0 AS audit_kept
  FROM insight.audit_log;
SELECT count(*) AS policies FROM pg_policy WHERE polrelid = 'insight.api_keys'::regclass;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'insight.api_keys'::regclass;
SELECT code FROM insight.verify(:'alice_key');
SELECT count(*) AS foreign_keys_to_insight FROM pg_constraint
 WHERE contype = 'f' AND confrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'insight'::regnamespace)
   AND connamespace <> 'insight'::regnamespace;

-- ---------------------------------------------------------------- prepared statements
-- Prepared as one role, executed after SET ROLE to another: the rows are
-- those of the executing role's principal, with custom and generic plans.
SET ROLE regress_sec_pv_alice;
PREPARE keys_seen AS SELECT current_user AS executing, string_agg(name, ',' ORDER BY name) AS keys
  FROM insight.keys;
PREPARE base_seen(text) AS SELECT current_user AS executing, string_agg(name, ',' ORDER BY name) AS keys
  FROM insight.api_keys WHERE kind = $1 OR $1 IS NULL;
PREPARE leaky AS SELECT count(*) FROM insight.api_keys WHERE regress_sec_pv_own.leak(name);
PREPARE who AS SELECT kind, via FROM insight.whoami();
EXECUTE keys_seen;
RESET ROLE;
SET ROLE regress_sec_pv_bob;
EXECUTE keys_seen;
EXECUTE who;
EXECUTE leaky;
RESET ROLE;
SET ROLE regress_sec_pv_stranger;
EXECUTE keys_seen;
EXECUTE base_seen(NULL);
EXECUTE leaky;
EXECUTE who;
RESET ROLE;
SET plan_cache_mode = force_generic_plan;
SET ROLE regress_sec_pv_bob;
EXECUTE base_seen('user');
EXECUTE base_seen('organization');
RESET ROLE;
SET ROLE regress_sec_pv_alice;
EXECUTE base_seen('user');
EXECUTE base_seen('organization');
EXECUTE leaky;
RESET ROLE;
SET ROLE regress_sec_pv_stranger;
EXECUTE base_seen('user');
RESET ROLE;
RESET plan_cache_mode;
-- prepared while a key was the principal, executed after COMMIT: the key is gone
SET ROLE regress_sec_pv_alice;
BEGIN;
SELECT code FROM insight.authenticate(:'bob_key');
PREPARE in_key_txn AS SELECT string_agg(name, ',' ORDER BY name) AS keys FROM insight.keys;
EXECUTE in_key_txn;
COMMIT;
EXECUTE in_key_txn;
RESET ROLE;
SET ROLE regress_sec_pv_stranger;
EXECUTE in_key_txn;
RESET ROLE;
DEALLOCATE ALL;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_sec_pv_alice, regress_sec_pv_bob, regress_sec_pv_stranger;
