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
