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

-- ==== section: planner statistics ====
-- Every role may name the granted columns of these tables (the views need the
-- grants), and row-level security does not hide their statistics from a
-- leakproof operator (selfuncs.c, statistic_proc_security_check): EXPLAIN's
-- estimates would tell a stranger who sees no row which key names, e-mails,
-- organization names and ids exist (most-common values, histogram bounds).
-- So nothing is sampled from them (statistics target 0 on every column, and on
-- the expression of users_email_key), and what an earlier ANALYZE stored is
-- removed. See docs/SECURITY.md, "Planner statistics". A table added to the
-- schema later that holds tenant data must do the same.
DO $stats$
DECLARE
  rel regclass;
  col name;
BEGIN
  FOREACH rel IN ARRAY ARRAY['@extschema@.organizations', '@extschema@.users',
                             '@extschema@.memberships', '@extschema@.api_keys',
                             '@extschema@.audit_log', '@extschema@.cascade_queue']::regclass[] LOOP
    FOR col IN SELECT a.attname FROM pg_catalog.pg_attribute a
                WHERE a.attrelid OPERATOR(pg_catalog.=) rel
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                ORDER BY a.attnum LOOP
      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', rel, col);
    END LOOP;
  END LOOP;
END
$stats$;
ALTER INDEX @extschema@.users_email_key ALTER COLUMN 1 SET STATISTICS 0;
DELETE FROM pg_catalog.pg_statistic
 WHERE starelid OPERATOR(pg_catalog.=) ANY (ARRAY[
         '@extschema@.organizations', '@extschema@.users', '@extschema@.memberships',
         '@extschema@.api_keys', '@extschema@.audit_log', '@extschema@.cascade_queue',
         '@extschema@.users_email_key']::regclass[]::oid[]);
-- ==== end section: planner statistics ====
