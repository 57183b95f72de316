-- insight_keys 1.1 -> 1.2. A fresh install runs 1.0, 1.0--1.1 and then this
-- script, so an upgraded database and a new one have the same catalog (tested
-- by tests/tap/t/*upgrade*). Each section belongs to one concern; keep them
-- apart so that each change reads on its own.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.2'" to load this file. \quit


-- ==== section: standby usage ====
-- Key uses recorded on a hot standby reach last_used_at on the primary: the
-- standby's usage sender calls this function on the primary
-- (docs/SCALING.md). insight_usage_reporter: the role a standby connects as
-- (its primary_conninfo user, or insight.primary_conninfo's) is made a member.
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'insight_usage_reporter') THEN
    CREATE ROLE insight_usage_reporter NOLOGIN;
  END IF;
END
$roles$;

CREATE FUNCTION @extschema@._record_remote_use(key_ids uuid[], used_at timestamptz[]) RETURNS bigint
  LANGUAGE c STRICT VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_record_remote_use';
REVOKE ALL ON FUNCTION @extschema@._record_remote_use(uuid[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._record_remote_use(uuid[], timestamptz[]) TO insight_usage_reporter;
-- ==== end section: standby usage ====
