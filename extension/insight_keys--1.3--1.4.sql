-- insight_keys 1.3 -> 1.4. A fresh install runs 1.0, 1.0--1.1, 1.1--1.2,
-- 1.2--1.3 and then this script, so an upgraded database and a new one have
-- the same catalog (tested by tests/tap/t/*upgrade*). Each section belongs to
-- one concern; keep them apart so that each change reads on its own.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.4'" to load this file. \quit


-- ==== section: cache-invalidation ====
-- A change to some api_keys rows now drops only those keys from every
-- backend's verify cache (docs/DESIGN.md, "Verify cache invalidation"): a
-- revocation no longer empties the caches of the sessions verifying other
-- keys. The row trigger records each changed row's lookup id, written to a
-- ring in shared memory when the transaction commits, and sends a relcache
-- invalidation of insight.cache_inval_key_rows, the narrow signal: "the keys
-- in the ring changed". Like insight.cache_inval_keys it holds no rows,
-- nothing reads it, and no one but its owner has any privilege on it.
CREATE TABLE @extschema@.cache_inval_key_rows ();
REVOKE ALL ON @extschema@.cache_inval_key_rows FROM PUBLIC;
ALTER TABLE @extschema@.cache_inval_key_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.cache_inval_key_rows FORCE ROW LEVEL SECURITY;

CREATE FUNCTION @extschema@._verify_cache_key_changed() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'insight_verify_cache_key_changed';
REVOKE ALL ON FUNCTION @extschema@._verify_cache_key_changed() FROM PUBLIC;

-- Every column verify reads; last_used_at, creator_deleted and rotated_to
-- updates do not fire. TRUNCATE names no rows: it keeps the broad signal.
DROP TRIGGER verify_cache_invalidate ON @extschema@.api_keys;
DROP TRIGGER verify_cache_invalidate_disabled ON @extschema@.api_keys;
CREATE TRIGGER verify_cache_key_changed
  AFTER DELETE
     OR UPDATE OF id, lookup_id, kind, org_id, owner_id, secret_hash, expires_at, settings,
                  disabled_at, created_at, generation
  ON @extschema@.api_keys
  FOR EACH ROW EXECUTE FUNCTION @extschema@._verify_cache_key_changed();
ALTER TABLE @extschema@.api_keys ENABLE ALWAYS TRIGGER verify_cache_key_changed;
CREATE TRIGGER verify_cache_invalidate
  AFTER TRUNCATE
  ON @extschema@.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
ALTER TABLE @extschema@.api_keys ENABLE ALWAYS TRIGGER verify_cache_invalidate;
