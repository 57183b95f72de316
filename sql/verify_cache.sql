-- verify_cache: the per-backend cache of verified keys and the usage counters.
-- The cache is bounded by insight.verify_cache_size, serves repeated
-- verifications, re-checks expiry on every hit, never holds MALFORMED input,
-- and survives DROP/CREATE EXTENSION in the same session; verify works in a
-- READ ONLY transaction; uses reach api_keys.last_used_at through
-- insight.flush_last_used(); insight.stats counts each result code.
-- Runs in its own database so that the counters move only with this file.
\set own_db regress_vcache_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE ROLE regress_vcache_user NOLOGIN;
SELECT insight.create_organization('vcache-org') AS org \gset
SELECT insight.create_user('vcache@example.com', db_role => 'regress_vcache_user') AS uid \gset
SELECT insight.set_membership(:'uid', :'org', 'read_write');
CREATE TABLE vcache_keys (n int PRIMARY KEY, key_id uuid, api_key text);
GRANT ALL ON vcache_keys TO regress_vcache_user;
SET ROLE regress_vcache_user;
INSERT INTO vcache_keys
SELECT n, g.key_id, g.api_key FROM generate_series(1, 10) n,
       LATERAL insight.generate_user_key(:'org', 'k' || n) g;
RESET ROLE;

-- ---------------------------------------------------------------- the bound
-- Four entries for ten keys: six evictions, never more than four held.
SET insight.verify_cache_size = 4;
SELECT capacity, entries, hits, misses, evictions FROM insight.verify_cache_status();
SELECT count(*) FILTER (WHERE v.code = 'VALID') AS valid
  FROM vcache_keys k, LATERAL insight.verify(k.api_key) v;
SELECT capacity, entries, hits, misses, evictions FROM insight.verify_cache_status();
-- The last one verified is held: a hit, no new miss.
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 10;
SELECT capacity, entries, hits, misses, evictions FROM insight.verify_cache_status();
-- MALFORMED input never reaches the cache (no miss counted, nothing stored):
-- bad checksum, wrong length, NULL, garbage.
SELECT v.code FROM vcache_keys k,
       LATERAL insight.verify(left(k.api_key, -1) || CASE WHEN right(k.api_key, 1) = 'A' THEN 'B' ELSE 'A' END) v
 WHERE k.n = 1;
SELECT code FROM insight.verify(NULL) UNION ALL SELECT code FROM insight.verify('ik_user_short')
UNION ALL SELECT code FROM insight.verify(repeat('x', 100000));
SELECT capacity, entries, hits, misses, evictions FROM insight.verify_cache_status();
-- A wrong secret with a real lookup id and a valid checksum is NOT_FOUND
-- even when the key is cached.
\ir sql/fixtures/checksum.sql
SELECT v.code FROM vcache_keys k,
       LATERAL insight.verify(regress_with_checksum(left(k.api_key, 25) || repeat('Z', 43))) v
 WHERE k.n = 10;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 10;
-- Size 0 disables the cache; verify still answers.
SET insight.verify_cache_size = 0;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 10;
SELECT capacity, entries FROM insight.verify_cache_status();
RESET insight.verify_cache_size;
SELECT capacity FROM insight.verify_cache_status();

-- ---------------------------------------------------------------- parallel plans
-- Under a Gather node verify runs in the leader, in parallel mode, where no
-- new snapshot may be taken: it reads in the statement's snapshot and caches
-- nothing it read there.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE v.valid;
SELECT count(*) FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE v.valid;
SELECT entries FROM insight.verify_cache_status();
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- ---------------------------------------------------------------- changes in this session
-- A change made by this session's own transaction applies at once, and a
-- rolled-back one leaves no trace.
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 2;
BEGIN;
UPDATE insight.api_keys SET expires_at = '2000-01-01' WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 2);
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 2;
ROLLBACK;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 2;
BEGIN;
SELECT insight.set_membership(:'uid', :'org', 'org_admin');
SELECT v.code, v.role FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 2;
ROLLBACK;
SELECT v.code, v.role FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 2;

-- ---------------------------------------------------------------- expiry on a cached key
-- The clock is read on every call: a cached key expires on time.
SET ROLE regress_vcache_user;
INSERT INTO vcache_keys
SELECT 11, g.key_id, g.api_key
  FROM insight.generate_user_key(:'org', 'short-lived', clock_timestamp() + interval '2 seconds') g;
RESET ROLE;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 11;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 11;
SELECT pg_sleep(GREATEST(0, extract(epoch FROM (SELECT expires_at FROM insight.api_keys
                                                 WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 11))
                                     - clock_timestamp())) + 0.05);
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 11;

-- ---------------------------------------------------------------- read-only transactions
BEGIN READ ONLY;
SELECT v.code, v.role FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 3;
SELECT v.code FROM vcache_keys k, LATERAL insight.authenticate(k.api_key) v WHERE k.n = 3;
SELECT kind, via FROM insight.whoami();
COMMIT;
SET default_transaction_read_only = on;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 4;
RESET default_transaction_read_only;

-- ---------------------------------------------------------------- last used
-- Verification writes nothing; the use waits in shared memory until flushed.
SELECT last_used_at IS NULL AS never_used FROM insight.api_keys WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 5);
SELECT clock_timestamp() AS before_use \gset
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 5;
SELECT last_used_at IS NULL AS not_written_by_verify FROM insight.api_keys WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 5);
SELECT last_used_pending >= 1 AS pending FROM insight.stats;
SELECT insight.flush_last_used() >= 1 AS flushed;
SELECT last_used_at >= :'before_use' AND last_used_at <= clock_timestamp() AS recorded
  FROM insight.api_keys WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 5);
SELECT last_used_at FROM insight.keys WHERE key_id = (SELECT key_id FROM vcache_keys WHERE n = 5) \gset first_
-- A second flush with nothing new writes nothing.
SELECT insight.flush_last_used() AS flushed_again;
SELECT last_used_at = :'first_last_used_at' AS unchanged
  FROM insight.api_keys WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 5);
-- flush_last_used is not for everyone.
SET ROLE regress_vcache_user;
SELECT insight.flush_last_used();
RESET ROLE;

-- ---------------------------------------------------------------- counters
SELECT verify_valid AS v0, verify_malformed AS m0, verify_not_found AS n0, verify_expired AS e0,
       verify_owner_inactive AS o0 FROM insight.stats \gset
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n IN (6, 7) ORDER BY k.n;
SELECT code FROM insight.verify('not a key');
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 11;
BEGIN;
DELETE FROM insight.memberships WHERE user_id = :'uid';
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 6;
ROLLBACK;
DELETE FROM insight.api_keys WHERE id = (SELECT key_id FROM vcache_keys WHERE n = 7);
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 7;
SELECT tracking, verify_valid - :v0 AS valid, verify_malformed - :m0 AS malformed,
       verify_not_found - :n0 AS not_found, verify_expired - :e0 AS expired,
       verify_owner_inactive - :o0 AS owner_inactive, shared_memory_bytes > 0 AS has_shared_memory
  FROM insight.stats;
-- Anyone may read the counters.
SET ROLE regress_vcache_user;
SELECT tracking FROM insight.stats;
RESET ROLE;

-- ---------------------------------------------------------------- DROP / CREATE EXTENSION
-- The relation ids verify resolved are forgotten with the extension: a key
-- made in the new installation verifies (stale ids would fail to open).
SELECT v.code, v.role FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 8;
SET client_min_messages = warning;
DROP EXTENSION insight_keys;
CREATE EXTENSION insight_keys;
RESET client_min_messages;
SELECT v.code FROM vcache_keys k, LATERAL insight.verify(k.api_key) v WHERE k.n = 8;
SELECT insight.create_organization('vcache-org-2') AS org \gset
SELECT insight.create_user('vcache@example.com', db_role => 'regress_vcache_user') AS uid \gset
SELECT insight.set_membership(:'uid', :'org', 'read_only');
SET ROLE regress_vcache_user;
SELECT api_key AS fresh_key FROM insight.generate_user_key(:'org', 'after re-create') \gset
RESET ROLE;
SELECT code, role FROM insight.verify(:'fresh_key');
SELECT entries FROM insight.verify_cache_status();

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_vcache_user;
