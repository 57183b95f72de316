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
