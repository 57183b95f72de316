-- insight_keys 1.1 -> 1.2. A fresh install runs 1.0, 1.0--1.1 and then this
-- script, so an upgraded database and a new one have the same catalog (tested
-- by tests/tap/t/*upgrade*). Each section belongs to one concern; keep them
-- apart so that each change reads on its own.
\echo Use "ALTER EXTENSION insight_keys UPDATE TO '1.2'" to load this file. \quit


-- ==== section: membership-disclosure ====
-- What membership reveals (docs/SECURITY.md, "What an org admin learns about
-- its members"). An org admin reads of its members only id, email,
-- display_name and the role in its organization: the platform-admin flag and
-- the db_role mapping of a user are readable through insight.user_accounts
-- only by that user and by platform-wide principals (the operator, platform
-- admins), never from the base table.
REVOKE SELECT (is_platform_admin, db_role) ON @extschema@.users FROM PUBLIC;
-- Not security_invoker: it reads as its owner, and the barrier predicate
-- (evaluated for the caller's principal) is what limits the rows.
CREATE VIEW @extschema@.user_accounts WITH (security_barrier = true) AS
SELECT u.id, u.email, u.display_name, u.is_platform_admin, u.db_role, u.created_at
  FROM @extschema@.users u
 WHERE @extschema@._may_view_user(u.id);
REVOKE ALL ON @extschema@.user_accounts FROM PUBLIC;
GRANT SELECT ON @extschema@.user_accounts TO PUBLIC;

-- ==== end section: membership-disclosure ====
-- ==== section: identity generations ====
-- Which keys a membership covers (docs/SECURITY.md, "Membership removal").
-- Every key and every membership takes a number from one sequence when it is
-- inserted; a user key counts for its owner's membership only if the key was
-- inserted after the membership (key generation >= membership generation), so
-- removing a member and re-adding them (in one transaction or before the
-- cascade runs) leaves the old keys OWNER_INACTIVE at once. A removal or
-- deletion event records the next number at enqueue time (generation_cutoff)
-- and deletes exactly the keys below it, whatever the membership is by then.
-- CACHE 1 (the default) keeps the numbers ordered across sessions.
-- Rows from before 1.2 have generation 0, so they keep their meaning; events
-- queued by 1.1 have no cut-off and are applied by the membership rule.
CREATE SEQUENCE @extschema@.generation_seq;
REVOKE ALL ON SEQUENCE @extschema@.generation_seq FROM PUBLIC;
-- A constant default first: no table rewrite, existing rows read as 0.
ALTER TABLE @extschema@.api_keys ADD COLUMN generation bigint NOT NULL DEFAULT 0;
ALTER TABLE @extschema@.api_keys
  ALTER COLUMN generation SET DEFAULT pg_catalog.nextval('@extschema@.generation_seq');
ALTER TABLE @extschema@.memberships ADD COLUMN generation bigint NOT NULL DEFAULT 0;
ALTER TABLE @extschema@.memberships
  ALTER COLUMN generation SET DEFAULT pg_catalog.nextval('@extschema@.generation_seq');
ALTER TABLE @extschema@.cascade_queue ADD COLUMN generation_cutoff bigint;
-- The sequence's position travels with a dump, or a restored database would
-- number new memberships below the keys it restored.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.generation_seq', '');
-- ==== end section: identity generations ====
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
-- ==== section: key settings and check ====
-- Narrower keys (docs/SECURITY.md, "Narrower keys"): per-key settings
-- (max_role, scopes, allowed_cidrs, rate_limit) written only by
-- configure_key, read by verify/check/authenticate with the key, and the
-- principal's facts for the application's own policies (README).
ALTER TABLE @extschema@.api_keys ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE @extschema@.api_keys ALTER COLUMN settings SET STATISTICS 0;
-- Not secret: readable under the api_keys policy like the other key columns
-- (insight.keys is security_invoker).
GRANT SELECT (settings) ON @extschema@.api_keys TO PUBLIC;

-- A settings change reaches every backend's verify cache like a revocation.
DROP TRIGGER verify_cache_invalidate ON @extschema@.api_keys;
CREATE TRIGGER verify_cache_invalidate
  AFTER DELETE OR TRUNCATE
     OR UPDATE OF id, lookup_id, kind, org_id, owner_id, secret_hash, expires_at, settings
  ON @extschema@.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
ALTER TABLE @extschema@.api_keys ENABLE ALWAYS TRIGGER verify_cache_invalidate;

CREATE OR REPLACE VIEW @extschema@.keys WITH (security_invoker = true, security_barrier = true) AS
SELECT k.id AS key_id, k.kind, k.org_id, o.name AS org_name, k.owner_id,
       u.email AS owner_email, k.created_by, k.name, k.hint, k.created_at, k.expires_at,
       k.last_used_at, k.created_by_label, k.creator_deleted, k.settings
  FROM @extschema@.api_keys k
  LEFT JOIN @extschema@.organizations o ON o.id OPERATOR(pg_catalog.=) k.org_id
  LEFT JOIN @extschema@.users u ON u.id OPERATOR(pg_catalog.=) k.owner_id
 WHERE @extschema@._may_view_key(k.kind, k.org_id, k.owner_id);

CREATE FUNCTION @extschema@.configure_key(key_id uuid, settings jsonb) RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_configure_key';
-- VOLATILE like verify (it reads the latest committed state) and counts
-- against a rate limit.
CREATE FUNCTION @extschema@.check(
    api_key text, permission text DEFAULT NULL, client_addr inet DEFAULT NULL,
    OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid,
    OUT user_id uuid, OUT role text, OUT expires_at timestamptz,
    OUT rate_limit_remaining integer, OUT rate_limit_reset timestamptz)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_check';
CREATE FUNCTION @extschema@.authenticate(
    api_key text, scope text, client_addr inet,
    OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid,
    OUT user_id uuid, OUT role text, OUT expires_at timestamptz)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_authenticate';
-- The principal in the application's own policies: answered from facts
-- loaded once per statement.
CREATE FUNCTION @extschema@.has_scope(permission text) RETURNS boolean
  LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'insight_has_scope';
CREATE FUNCTION @extschema@.acts_in_org(org_id uuid) RETURNS boolean
  LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'insight_acts_in_org';
CREATE FUNCTION @extschema@.current_org_id() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'insight_current_org_id';
CREATE FUNCTION @extschema@.current_user_id() RETURNS uuid
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'insight_current_user_id';

REVOKE ALL ON FUNCTION
  @extschema@.configure_key(uuid, jsonb),
  @extschema@.check(text, text, inet),
  @extschema@.authenticate(text, text, inet),
  @extschema@.has_scope(text),
  @extschema@.acts_in_org(uuid),
  @extschema@.current_org_id(),
  @extschema@.current_user_id()
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  @extschema@.configure_key(uuid, jsonb),
  @extschema@.check(text, text, inet),
  @extschema@.authenticate(text, text, inet),
  @extschema@.has_scope(text),
  @extschema@.acts_in_org(uuid),
  @extschema@.current_org_id(),
  @extschema@.current_user_id()
  TO PUBLIC;
-- ==== end section: key settings and check ====

-- ==== section: rate limits ====
-- The shared-memory rate-limit table (extension/src/rate_limits.cpp). An
-- operator's probe: counts one request of key_id against a limit of
-- `requests` per `per`, exactly as check() and authenticate() do for a key
-- with a rate_limit setting. Granted to no one (superusers only).
CREATE FUNCTION @extschema@._rate_limit_consume(key_id uuid, requests bigint, per interval,
    OUT allowed boolean, OUT available boolean, OUT remaining integer, OUT reset timestamptz)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_rate_limit_consume';
REVOKE ALL ON FUNCTION @extschema@._rate_limit_consume(uuid, bigint, interval) FROM PUBLIC;

-- The table's size and fill, and the requests refused because it was full
-- (NULL, tracking = false, when the library is not preloaded). Counts only.
CREATE FUNCTION @extschema@._rate_limit_stats(
    OUT tracking boolean, OUT capacity bigint, OUT entries bigint, OUT refused_full bigint)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_rate_limit_stats';
REVOKE ALL ON FUNCTION @extschema@._rate_limit_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._rate_limit_stats() TO PUBLIC;

CREATE OR REPLACE VIEW @extschema@.stats AS
  SELECT s.*, r.capacity AS rate_limit_capacity, r.entries AS rate_limit_entries,
         r.refused_full AS rate_limit_refused_full
  FROM @extschema@._stats() s, @extschema@._rate_limit_stats() r;
-- ==== end section: rate limits ====
-- ==== section: rotation and disable ====
-- Key rotation with a grace period and reversible disabling (docs/SECURITY.md,
-- "Rotation" and "Disabling a key"). disabled_at: when the key was disabled
-- (NULL: enabled); verify answers DISABLED while it is set. rotated_to: the
-- successor of a rotated key (at most one: rotate_key locks the row and
-- refuses a key that has one); the old key keeps working until its
-- expires_at, which rotation sets to the grace's end, and the worker deletes
-- it after that. No foreign key: the successor may be revoked first.
ALTER TABLE @extschema@.api_keys ADD COLUMN disabled_at timestamptz;
ALTER TABLE @extschema@.api_keys ADD COLUMN rotated_to uuid;
ALTER TABLE @extschema@.api_keys ALTER COLUMN disabled_at SET STATISTICS 0;
ALTER TABLE @extschema@.api_keys ALTER COLUMN rotated_to SET STATISTICS 0;
-- The worker's purge of rotated keys past their grace reads only these rows.
CREATE INDEX api_keys_rotated_idx ON @extschema@.api_keys (expires_at) WHERE rotated_to IS NOT NULL;
GRANT SELECT (disabled_at) ON @extschema@.api_keys TO PUBLIC;

-- Disabling and enabling change what verify answers: cached entries go.
-- (expires_at, which rotation changes, is already in verify_cache_invalidate.)
CREATE TRIGGER verify_cache_invalidate_disabled
  AFTER UPDATE OF disabled_at
  ON @extschema@.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
ALTER TABLE @extschema@.api_keys ENABLE ALWAYS TRIGGER verify_cache_invalidate_disabled;

CREATE OR REPLACE VIEW @extschema@.keys WITH (security_invoker = true, security_barrier = true) AS
SELECT k.id AS key_id, k.kind, k.org_id, o.name AS org_name, k.owner_id,
       u.email AS owner_email, k.created_by, k.name, k.hint, k.created_at, k.expires_at,
       k.last_used_at, k.created_by_label, k.creator_deleted, k.settings, k.disabled_at
  FROM @extschema@.api_keys k
  LEFT JOIN @extschema@.organizations o ON o.id OPERATOR(pg_catalog.=) k.org_id
  LEFT JOIN @extschema@.users u ON u.id OPERATOR(pg_catalog.=) k.owner_id
 WHERE @extschema@._may_view_key(k.kind, k.org_id, k.owner_id);

-- rotate_key's row: an output column may not share the parameter's name.
CREATE TYPE @extschema@.new_key AS (key_id uuid, api_key text);

CREATE FUNCTION @extschema@.rotate_key(key_id uuid, grace interval DEFAULT '0')
  RETURNS @extschema@.new_key
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_rotate_key';
CREATE FUNCTION @extschema@.disable_key(key_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_disable_key';
CREATE FUNCTION @extschema@.enable_key(key_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_enable_key';
REVOKE ALL ON FUNCTION @extschema@.rotate_key(uuid, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.disable_key(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.enable_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rotate_key(uuid, interval) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.disable_key(uuid) TO PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.enable_key(uuid) TO PUBLIC;
-- ==== end section: rotation and disable ====
-- ==== section: org policies ====
-- Organization policies on key lifetime (docs/DESIGN.md, "Organization
-- policies"). One row per organization, replaced whole by set_org_policy();
-- written only by the extension's code (no write policy), readable by whoever
-- may see the organization. No foreign key (a TRUNCATE of organizations must
-- keep working): deleting an organization deletes its policy in the identity
-- trigger, and verify reads a policy only for an organization that exists. A key's effective expiry is
-- least(expires_at, created_at + max_key_lifetime): nothing is rewritten when
-- a policy changes, verify and the views compute it.
CREATE TABLE @extschema@.org_policies_t (
  org_id              uuid PRIMARY KEY,
  max_key_lifetime    interval,
  require_expiry      boolean NOT NULL DEFAULT false,
  revoke_unused_after interval,
  notify_before       interval,
  updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_by          uuid
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.org_policies_t', '');
ALTER TABLE @extschema@.org_policies_t ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.org_policies_t FORCE ROW LEVEL SECURITY;
CREATE POLICY org_policies_visible ON @extschema@.org_policies_t FOR SELECT
  USING (@extschema@._may_view_organization(org_id));
REVOKE ALL ON @extschema@.org_policies_t FROM PUBLIC;
GRANT SELECT ON @extschema@.org_policies_t TO PUBLIC;
-- Tenant data: no planner statistics (see the section "planner statistics").
ALTER TABLE @extschema@.org_policies_t ALTER COLUMN org_id SET STATISTICS 0,
  ALTER COLUMN max_key_lifetime SET STATISTICS 0, ALTER COLUMN require_expiry SET STATISTICS 0,
  ALTER COLUMN revoke_unused_after SET STATISTICS 0, ALTER COLUMN notify_before SET STATISTICS 0,
  ALTER COLUMN updated_at SET STATISTICS 0, ALTER COLUMN updated_by SET STATISTICS 0;

-- verify() reads max_key_lifetime with the organization's facts and caches
-- the effective expiry: a policy change must clear every backend's cache at
-- commit, like a change of any other table verify reads.
CREATE TRIGGER verify_cache_invalidate
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON @extschema@.org_policies_t
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._verify_cache_invalidate();
ALTER TABLE @extschema@.org_policies_t ENABLE ALWAYS TRIGGER verify_cache_invalidate;

CREATE VIEW @extschema@.org_policies WITH (security_invoker = true, security_barrier = true) AS
SELECT p.org_id, p.max_key_lifetime, p.require_expiry, p.revoke_unused_after, p.notify_before,
       p.updated_at, p.updated_by
  FROM @extschema@.org_policies_t p
 WHERE @extschema@._may_view_organization(p.org_id);
REVOKE ALL ON @extschema@.org_policies FROM PUBLIC;
GRANT SELECT ON @extschema@.org_policies TO PUBLIC;

CREATE FUNCTION @extschema@.set_org_policy(
    org_id uuid, max_key_lifetime interval DEFAULT NULL, require_expiry boolean DEFAULT false,
    revoke_unused_after interval DEFAULT NULL, notify_before interval DEFAULT '7 days')
  RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_set_org_policy';
REVOKE ALL ON FUNCTION @extschema@.set_org_policy(uuid, interval, boolean, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_org_policy(uuid, interval, boolean, interval, interval) TO PUBLIC;

-- The worker records key.expiring once per key: this marks it done (not
-- granted to anyone; not a column verify reads, so no invalidation).
ALTER TABLE @extschema@.api_keys ADD COLUMN expiring_recorded boolean NOT NULL DEFAULT false;
ALTER TABLE @extschema@.api_keys ALTER COLUMN expiring_recorded SET STATISTICS 0;

-- insight.keys reports the effective expiry (the other columns unchanged).
CREATE OR REPLACE VIEW @extschema@.keys WITH (security_invoker = true, security_barrier = true) AS
SELECT k.id AS key_id, k.kind, k.org_id, o.name AS org_name, k.owner_id,
       u.email AS owner_email, k.created_by, k.name, k.hint, k.created_at,
       LEAST(k.expires_at, k.created_at OPERATOR(pg_catalog.+) p.max_key_lifetime) AS expires_at,
       k.last_used_at, k.created_by_label, k.creator_deleted, k.settings, k.disabled_at
  FROM @extschema@.api_keys k
  LEFT JOIN @extschema@.organizations o ON o.id OPERATOR(pg_catalog.=) k.org_id
  LEFT JOIN @extschema@.users u ON u.id OPERATOR(pg_catalog.=) k.owner_id
  LEFT JOIN @extschema@.org_policies_t p ON p.org_id OPERATOR(pg_catalog.=) k.org_id
 WHERE @extschema@._may_view_key(k.kind, k.org_id, k.owner_id);
-- ==== end section: org policies ====
-- ==== section: leaked keys and notifications ====
-- report_leaked: anyone, including nobody, who holds a key's full text may
-- have it revoked (docs/SECURITY.md, "Leaked-key reports"). A C function
-- that elevates internally, like revoke_key; not STRICT (a NULL key is false).
CREATE FUNCTION @extschema@.report_leaked(api_key text, source text DEFAULT NULL) RETURNS boolean
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_report_leaked';
REVOKE ALL ON FUNCTION @extschema@.report_leaked(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_leaked(text, text) TO PUBLIC;

-- Every audit row is announced on channel insight_keys after its transaction
-- commits, with {"id":<audit id>,"action":"<action>"} and nothing else
-- (docs/SECURITY.md, "Notifications"). A row trigger, so that audit rows
-- inserted by set-based statements are announced too.
CREATE FUNCTION @extschema@._audit_announce() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'insight_audit_announce';
REVOKE ALL ON FUNCTION @extschema@._audit_announce() FROM PUBLIC;
CREATE TRIGGER audit_announce
  AFTER INSERT ON @extschema@.audit_log
  FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_announce();
-- ==== end section: leaked keys and notifications ====
