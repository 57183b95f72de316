-- insight_keys 1.0 -> 1.1. A fresh install runs 1.0 and then this script, so
-- an upgraded database and a new one have the same catalog (tested by
-- tests/tap/t/*upgrade*). Each section belongs to one feature.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.1'" to load this file. \quit

-- ==== section: upgrade ====
-- First in this file on purpose: it must run before any other section.
-- CVE-2022-2625 class. PostgreSQL 15 installs into the control file's schema
-- even when that schema already exists and belongs to someone else; whoever
-- owns schema insight (or may create in it) could then drop, shadow or
-- overload the extension's objects. A fresh install runs 1.0 then this file
-- in one transaction, so refusing here undoes the whole CREATE EXTENSION; an
-- update of a 1.0 install in such a schema is refused the same way.
DO $schema_check$
DECLARE
  ext oid;
  ext_owner oid;
  nsp oid;
  nsp_owner oid;
  strays text;
BEGIN
  SELECT e.oid, e.extowner, e.extnamespace INTO ext, ext_owner, nsp
    FROM pg_catalog.pg_extension e
   WHERE e.extname OPERATOR(pg_catalog.=) 'insight_keys';
  SELECT n.nspowner INTO nsp_owner
    FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) nsp;

  IF nsp_owner OPERATOR(pg_catalog.<>) ext_owner
     AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) nsp_owner) THEN
    RAISE EXCEPTION 'schema insight is owned by role %, which is not a superuser',
        (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) nsp_owner)
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Drop the schema (or give it to a superuser and empty it) before installing insight_keys.';
  END IF;

  IF EXISTS (SELECT 1
               FROM pg_catalog.pg_namespace n,
                    LATERAL pg_catalog.aclexplode(n.nspacl) a
              WHERE n.oid OPERATOR(pg_catalog.=) nsp
                AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
                AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner) THEN
    RAISE EXCEPTION 'a role other than its owner may create objects in schema insight'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'REVOKE CREATE ON SCHEMA insight FROM PUBLIC (and every other grantee).';
  END IF;

  -- Every object in the schema must belong to the extension. Indexes, the row
  -- types of tables and views, and array types follow their parent.
  SELECT pg_catalog.string_agg(o.descr, ', ' ORDER BY o.descr) INTO strays
    FROM (
      SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid
        FROM pg_catalog.pg_class c
       WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
         AND c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I']::"char"[])
      UNION ALL
      SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid
        FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid
        FROM pg_catalog.pg_type t
       WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
         AND t.typrelid OPERATOR(pg_catalog.=) 0
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e
                          WHERE e.typarray OPERATOR(pg_catalog.=) t.oid)
      UNION ALL
      SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid
        FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_collation c WHERE c.collnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_conversion c WHERE c.connamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, f.oid
        FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_ts_config c WHERE c.cfgnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, d.oid
        FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, s.oid
        FROM pg_catalog.pg_statistic_ext s WHERE s.stxnamespace OPERATOR(pg_catalog.=) nsp
    ) AS x
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_describe_object(x.classid, x.objid, 0) AS descr) AS o
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) x.classid
                        AND d.objid OPERATOR(pg_catalog.=) x.objid
                        AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                        AND d.refobjid OPERATOR(pg_catalog.=) ext
                        AND d.deptype OPERATOR(pg_catalog.=) 'e');
  IF strays IS NOT NULL THEN
    RAISE EXCEPTION 'schema insight holds objects that do not belong to extension insight_keys: %', strays
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Drop them (or the schema) before installing insight_keys.';
  END IF;
END
$schema_check$;
-- ==== end section: upgrade ====

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
