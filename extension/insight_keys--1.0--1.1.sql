-- insight_keys 1.0 -> 1.1. A fresh install runs 1.0 and then this script, so
-- an upgraded database and a new one have the same catalog (tested by
-- tests/tap/t/*upgrade*). Each section belongs to one feature.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.1'" to load this file. \quit


-- ==== section: verify ====
-- verify() keeps a per-backend cache of verified keys (insight.verify_cache_size).
-- These statement triggers make every change that could alter a verify answer
-- send a relcache invalidation at commit; each backend's callback then clears
-- its cache, and verify() accepts pending invalidations before every lookup,
-- so a revocation, a user deletion, a membership or role change committed by
-- any session is honoured by every other session from its next call. ENABLE
-- ALWAYS: they fire under session_replication_role = replica too (logical
-- replication apply). Inserting a key needs no invalidation (nothing
-- negative is cached); last_used_at and creator_deleted updates do not fire.
CREATE FUNCTION @extschema@._verify_cache_invalidate() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'insight_verify_cache_invalidate';
REVOKE ALL ON FUNCTION @extschema@._verify_cache_invalidate() FROM PUBLIC;

CREATE TRIGGER verify_cache_invalidate
  AFTER DELETE OR TRUNCATE
     OR UPDATE OF id, lookup_id, kind, org_id, owner_id, secret_hash, expires_at
  ON @extschema@.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
CREATE TRIGGER verify_cache_invalidate
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF id, is_platform_admin
  ON @extschema@.users
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
CREATE TRIGGER verify_cache_invalidate
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF user_id, org_id, role
  ON @extschema@.memberships
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
CREATE TRIGGER verify_cache_invalidate
  AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF id
  ON @extschema@.organizations
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
ALTER TABLE @extschema@.api_keys ENABLE ALWAYS TRIGGER verify_cache_invalidate;
ALTER TABLE @extschema@.users ENABLE ALWAYS TRIGGER verify_cache_invalidate;
ALTER TABLE @extschema@.memberships ENABLE ALWAYS TRIGGER verify_cache_invalidate;
ALTER TABLE @extschema@.organizations ENABLE ALWAYS TRIGGER verify_cache_invalidate;

-- This backend's verify cache: size bound, fill and traffic (no key material).
CREATE FUNCTION @extschema@.verify_cache_status(
    OUT capacity bigint, OUT entries bigint, OUT hits bigint, OUT misses bigint,
    OUT evictions bigint, OUT invalidations bigint, OUT memory_bytes bigint)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_verify_cache_status';
REVOKE ALL ON FUNCTION @extschema@.verify_cache_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_cache_status() TO PUBLIC;

-- Cluster-wide counters from shared memory (NULL, tracking = false, when the
-- library is not in shared_preload_libraries). Counts only: readable by all.
CREATE FUNCTION @extschema@._stats(
    OUT tracking boolean,
    OUT verify_valid bigint, OUT verify_malformed bigint, OUT verify_not_found bigint,
    OUT verify_expired bigint, OUT verify_owner_inactive bigint,
    OUT cache_hits bigint, OUT cache_misses bigint, OUT cache_evictions bigint,
    OUT last_used_pending bigint, OUT last_used_dropped bigint, OUT last_used_flushed bigint,
    OUT shared_memory_bytes bigint)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_stats';
REVOKE ALL ON FUNCTION @extschema@._stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._stats() TO PUBLIC;
CREATE VIEW @extschema@.stats AS SELECT * FROM @extschema@._stats();
REVOKE ALL ON @extschema@.stats FROM PUBLIC;
GRANT SELECT ON @extschema@.stats TO PUBLIC;

-- Writes the key uses recorded in shared memory to api_keys.last_used_at (the
-- worker calls the same code every insight.last_used_flush_interval). Returns
-- the number of keys updated.
CREATE FUNCTION @extschema@.flush_last_used() RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_flush_last_used';
REVOKE ALL ON FUNCTION @extschema@.flush_last_used() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.flush_last_used() TO insight_operator;
-- ==== end section: verify ====
