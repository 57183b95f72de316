-- createrole_marks: who can make itself the operator or a trusted
-- application. A role without CREATEROLE cannot grant itself insight_operator
-- or insight_trusted_app (42501). On PostgreSQL 15 a role with CREATEROLE can
-- (it may grant any non-superuser role, and change any non-superuser role's
-- password), so it must be trusted as the operator: docs/SECURITY.md,
-- "CREATEROLE". The audit query given there finds such self-made grants.
\set own_db regress_createrole_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
CREATE ROLE regress_cr_plain NOLOGIN;
CREATE ROLE regress_cr_creator NOLOGIN CREATEROLE;
CREATE ROLE regress_cr_ops NOLOGIN;
GRANT insight_operator TO regress_cr_ops;

CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE stmt;
  RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END
$f$;

-- Without CREATEROLE: refused, and the role stays nobody.
SET ROLE regress_cr_plain;
SELECT try('GRANT insight_operator TO regress_cr_plain') AS operator_grant;
SELECT try('GRANT insight_trusted_app TO regress_cr_plain') AS trusted_app_grant;
SELECT kind FROM insight.whoami();
RESET ROLE;

-- With CREATEROLE, on PostgreSQL 15: accepted, and the role is the operator.
SET ROLE regress_cr_creator;
SELECT try('GRANT insight_operator TO regress_cr_creator') AS operator_grant;
SELECT try('GRANT insight_trusted_app TO regress_cr_creator') AS trusted_app_grant;
SELECT kind, via FROM insight.whoami();
RESET ROLE;

-- The audit query of docs/SECURITY.md: every path into a mark whose grant was
-- not made by a superuser.
WITH RECURSIVE chain (mark, role) AS (
  SELECT oid, oid FROM pg_roles WHERE rolname IN ('insight_operator', 'insight_trusted_app')
  UNION
  SELECT c.mark, m.member FROM chain c JOIN pg_auth_members m ON m.roleid = c.role
)
SELECT mk.rolname AS mark, r.rolname AS granted_to, g.rolname AS granted_by
  FROM chain c
  JOIN pg_auth_members m ON m.roleid = c.role
  JOIN pg_roles mk ON mk.oid = c.mark
  JOIN pg_roles r ON r.oid = m.member
  LEFT JOIN pg_roles g ON g.oid = m.grantor
 WHERE NOT coalesce(g.rolsuper, false)
 ORDER BY 1, 2;

\ir sql/fixtures/own_database_end.sql
REVOKE insight_operator, insight_trusted_app FROM regress_cr_creator;
REVOKE insight_operator FROM regress_cr_ops;
DROP ROLE regress_cr_plain, regress_cr_creator, regress_cr_ops;
