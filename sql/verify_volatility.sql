-- verify_volatility: verify reads the latest committed state on every call
-- that misses the cache, so it is declared VOLATILE. A STABLE declaration let
-- the planner evaluate it once per statement (here as an index condition), so
-- a key revoked by a function earlier in the same statement still answered
-- VALID for the rest of it. Runs in its own database.
\set own_db regress_volatility_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

-- The declarations: every function that answers from a fresh read is VOLATILE.
SELECT p.oid::regprocedure AS function, p.provolatile
  FROM pg_proc p
 WHERE p.pronamespace = 'insight'::regnamespace AND p.proname IN ('verify', 'authenticate')
 ORDER BY 1::text;

SELECT insight.create_organization('volatility-org') AS org \gset
CREATE TABLE vol_key (key_id uuid, api_key text);
INSERT INTO vol_key SELECT key_id, api_key FROM insight.generate_org_key(:'org', 'k');
SELECT key_id AS kid FROM vol_key \gset

-- One row per answer the statement may see; the index invites the planner to
-- evaluate the verify call once, as an index condition, if it may.
CREATE TABLE answers (step int, code text);
CREATE INDEX answers_code ON answers (code);
INSERT INTO answers VALUES (1, 'VALID'), (2, 'NOT_FOUND');
ANALYZE answers;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT a.step FROM answers a
 WHERE a.code = (insight.verify((SELECT api_key FROM vol_key))).code;

-- The first row revokes the key; verify is called again for the second row
-- and answers NOT_FOUND: both rows match, each with its own answer.
SELECT a.step, a.code,
       CASE WHEN a.step = 1 THEN insight.revoke_key(:'kid')::text = '' END AS revoked_here
  FROM answers a
 WHERE a.code = (insight.verify((SELECT api_key FROM vol_key))).code;
RESET enable_seqscan;
SELECT code FROM insight.verify((SELECT api_key FROM vol_key));

\ir sql/fixtures/own_database_end.sql
