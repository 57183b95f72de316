-- insight_keys 1.1 -> 1.2. A fresh install runs 1.0, 1.0--1.1 and then this
-- script, so an upgraded database and a new one have the same catalog (tested
-- by tests/tap/t/*upgrade*). Each section belongs to one concern; keep them
-- apart so that each change reads on its own.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.2'" to load this file. \quit


-- ==== section: verify volatility ====
-- verify reads the latest committed state on every call that misses the
-- backend cache (a revocation is honoured at once, even inside a running
-- statement), so two calls in one statement can answer differently: that is
-- VOLATILE, not STABLE (a STABLE call may be evaluated once and reused, e.g.
-- as an index condition). authenticate was VOLATILE already.
ALTER FUNCTION @extschema@.verify(text) VOLATILE;
-- ==== end section: verify volatility ====
