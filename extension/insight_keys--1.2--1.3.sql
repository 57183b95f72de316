-- insight_keys 1.2 -> 1.3. A fresh install runs 1.0, 1.0--1.1, 1.1--1.2 and
-- then this script, so an upgraded database and a new one have the same
-- catalog (tested by tests/tap/t/*upgrade*). Each section belongs to one
-- concern; keep them apart so that each change reads on its own.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.3'" to load this file. \quit


-- ==== section: cache-invalidation ====
-- The relation through which "key data changed" reaches every backend's
-- verify cache (docs/DESIGN.md, "Verify cache invalidation"). It holds no
-- rows and nothing reads it: the verify_cache_invalidate statement triggers
-- on api_keys, users, memberships, organizations and org_policies_t send a
-- relcache invalidation of this relation at commit (WAL-logged with the
-- commit record, so hot standbys receive it too) instead of one of the table
-- that changed. The tables' own relcache entries, and every cached plan over
-- them, then survive a revocation or a role change. No privilege for anyone
-- but its owner; row-level security forced like on every other table.
CREATE TABLE @extschema@.cache_inval_keys ();
REVOKE ALL ON @extschema@.cache_inval_keys FROM PUBLIC;
ALTER TABLE @extschema@.cache_inval_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.cache_inval_keys FORCE ROW LEVEL SECURITY;
