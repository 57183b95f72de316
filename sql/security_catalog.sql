-- security_catalog: the installed catalog holds no privilege a stranger could
-- use (SECURITY DEFINER functions pin search_path, PUBLIC executes exactly the
-- public API, grants leave secrets out, RLS is forced everywhere), and
-- CREATE EXTENSION refuses a schema insight prepared by someone else
-- (CVE-2022-2625 class).
SELECT current_user AS regress_superuser \gset
\set own_db regress_sec_cat_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE VIEW regress_sec_members AS
SELECT d.classid, d.objid
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'insight_keys';
CREATE VIEW regress_sec_functions AS
SELECT p.* FROM pg_proc p JOIN regress_sec_members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid;

SELECT count(*) > 25 AS sees_the_extension_functions FROM regress_sec_functions;

-- Every SECURITY DEFINER function, and every function not written in C,
-- pins search_path to pg_catalog, pg_temp (an unpinned one would let the
-- caller's search_path choose its operators). Expected: none listed.
SELECT p.oid::regprocedure AS unpinned_function, p.prosecdef, l.lanname, p.proconfig
  FROM regress_sec_functions p JOIN pg_language l ON l.oid = p.prolang
 WHERE (p.prosecdef OR l.lanname NOT IN ('c', 'internal'))
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
 ORDER BY 1::text;

-- Exactly the functions PUBLIC may execute: the public API (README "SQL interface"),
-- the RLS predicates (they run as the querying role) and
-- reset_principal/whoami.
SELECT p.oid::regprocedure AS public_may_execute
  FROM regress_sec_functions p
 WHERE EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
 ORDER BY 1::text;
-- and no role but the owner has any other function
SELECT p.oid::regprocedure AS internal_function, r.rolname AS grantee
  FROM regress_sec_functions p
  CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
  LEFT JOIN pg_roles r ON r.oid = a.grantee
 WHERE NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) b
                    WHERE b.grantee = 0)
   AND a.grantee <> p.proowner
 ORDER BY 1::text;

-- Table privileges: no grantee but PUBLIC (and the owner), PUBLIC reads only.
SELECT c.relname, c.relkind, coalesce(r.rolname, 'PUBLIC') AS grantee, a.privilege_type
  FROM pg_class c JOIN regress_sec_members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
  CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
  LEFT JOIN pg_roles r ON r.oid = a.grantee
 WHERE a.grantee <> c.relowner
 ORDER BY 1, 3, 4;
-- Column privileges granted to anyone on the base tables
SELECT c.relname, string_agg(att.attname || ':' || a.privilege_type || ':' || coalesce(r.rolname, 'PUBLIC'), ', ' ORDER BY att.attnum) AS column_grants
  FROM pg_class c JOIN regress_sec_members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
  JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
  CROSS JOIN LATERAL aclexplode(att.attacl) a
  LEFT JOIN pg_roles r ON r.oid = a.grantee
 WHERE c.relkind = 'r'
 GROUP BY c.relname ORDER BY 1;
-- the secret columns: readable by nobody but the owner
SELECT att.attname AS never_granted,
       has_column_privilege('public', 'insight.api_keys', att.attname, 'SELECT') AS public_select
  FROM pg_attribute att
 WHERE att.attrelid = 'insight.api_keys'::regclass AND att.attname IN ('secret_hash', 'lookup_id')
 ORDER BY 1;

-- Row-level security enabled and forced on every table, views are
-- security_invoker and security_barrier, policies are SELECT-only.
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c JOIN regress_sec_members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
 WHERE c.relkind IN ('r', 'p') ORDER BY 1;
SELECT c.relname, c.reloptions
  FROM pg_class c JOIN regress_sec_members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
 WHERE c.relkind = 'v' ORDER BY 1;
SELECT polrelid::regclass AS on_table, polname, polcmd, polpermissive, polroles::regrole[] AS roles
  FROM pg_policy
 WHERE polrelid IN (SELECT objid FROM regress_sec_members WHERE classid = 'pg_class'::regclass)
 ORDER BY 1::text, 2;

-- The schema: owned by a superuser, PUBLIC may only use it.
SELECT r.rolsuper AS owner_is_superuser,
       (SELECT string_agg(coalesce(g.rolname, 'PUBLIC') || ':' || a.privilege_type, ', ' ORDER BY 1)
          FROM aclexplode(n.nspacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
         WHERE a.grantee <> n.nspowner) AS others
  FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'insight';
-- The roles the extension creates cannot log in or bypass anything.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
  FROM pg_roles WHERE rolname IN ('insight_operator', 'insight_trusted_app', 'insight_usage_reporter') ORDER BY 1;
-- Every object in schema insight belongs to the extension.
SELECT c.oid::regclass AS stray_relation FROM pg_class c
 WHERE c.relnamespace = 'insight'::regnamespace AND c.relkind NOT IN ('i', 'I')
   AND c.oid NOT IN (SELECT objid FROM regress_sec_members WHERE classid = 'pg_class'::regclass)
   -- a composite type's relation belongs to its type, the member
   AND NOT (c.relkind = 'c' AND c.reltype IN (SELECT objid FROM regress_sec_members WHERE classid = 'pg_type'::regclass));
SELECT p.oid::regprocedure AS stray_function FROM pg_proc p
 WHERE p.pronamespace = 'insight'::regnamespace
   AND p.oid NOT IN (SELECT objid FROM regress_sec_members WHERE classid = 'pg_proc'::regclass);

-- What PUBLIC may execute, tried by a stranger (no user, no key): every
-- management function refuses, an unknown key id is "not found" (no
-- existence oracle), the predicates answer false for nobody.
CREATE ROLE regress_sec_cat_stranger LOGIN;
CREATE FUNCTION public.regress_sec_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT insight.create_organization('acme') AS acme \gset
SELECT insight.create_user('alice@example.com') AS alice \gset
SELECT insight.set_membership(:'alice', :'acme', 'org_admin');
SET ROLE regress_sec_cat_stranger;
SELECT n, public.regress_sec_try(stmt) AS outcome FROM (VALUES
  (1, format('SELECT insight.create_organization(%L)', 'mine')),
  (2, format('SELECT insight.delete_organization(%L)', :'acme')),
  (3, format('SELECT insight.create_user(%L, NULL, true, current_user)', 'me@example.com')),
  (4, format('SELECT insight.set_membership(%L, %L, %L)', :'alice', :'acme', 'read_only')),
  (5, format('SELECT insight.remove_membership(%L, %L)', :'alice', :'acme')),
  (6, format('SELECT insight.set_platform_admin(%L, true)', :'alice')),
  (7, format('SELECT insight.delete_user(%L)', :'alice')),
  (8, 'SELECT insight.apply_cascades()'),
  (9, format('SELECT insight.generate_user_key(%L, %L)', :'acme', 'mine')),
  (10, format('SELECT insight.generate_org_key(%L, %L)', :'acme', 'mine')),
  (11, format('SELECT insight.revoke_key(%L)', '00000000-0000-0000-0000-000000000001')),
  (12, format('SELECT insight.act_as(%L)', :'alice')),
  (13, format('SELECT insight.act_as(%L, %L)', :'alice', 'session')),
  (14, 'SELECT insight.flush_last_used()'),
  (15, 'SELECT insight._worker_loaded()'),
  (16, format('SELECT insight._record_remote_use(ARRAY[%L]::uuid[], ARRAY[now()])', '00000000-0000-0000-0000-000000000001'))
) AS v(n, stmt) ORDER BY n;
SELECT insight._may_view_organization(:'acme') AS org, insight._may_manage_organization(:'acme') AS manage,
       insight._may_view_user(:'alice') AS usr, insight._may_view_membership(:'alice', :'acme') AS mship,
       insight._may_view_key('organization', :'acme', NULL) AS okey, insight._may_view_cascades() AS casc,
       insight._may_view_audit(:'acme', NULL, :'alice') AS aud;
SELECT kind FROM insight.whoami();
RESET ROLE;
SELECT count(*) AS organizations, (SELECT count(*) FROM insight.users) AS users,
       (SELECT count(*) FROM insight.api_keys) AS keys,
       (SELECT string_agg(role, ',') FROM insight.memberships) AS roles,
       (SELECT bool_or(is_platform_admin) FROM insight.users) AS any_admin
  FROM insight.organizations;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_sec_cat_stranger;
RESET client_min_messages;

-- ---------------------------------------------------------------- CVE-2022-2625 class
\set SHOW_CONTEXT never
-- A role with CREATE on a database prepares schema insight before a
-- superuser installs the extension there. Every variant must fail and leave
-- no extension behind.
CREATE ROLE regress_sec_cat_evil LOGIN;

-- 1. the attacker's schema with a table named like the extension's
CREATE DATABASE regress_sec_cve_db;
GRANT CREATE ON DATABASE regress_sec_cve_db TO regress_sec_cat_evil;
\c regress_sec_cve_db
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
RESET client_min_messages;
SET ROLE regress_sec_cat_evil;
CREATE SCHEMA insight;
CREATE TABLE insight.api_keys (id uuid, lookup_id text, secret_hash bytea);
RESET ROLE;
CREATE EXTENSION insight_keys;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';

-- 2. the attacker's schema with an overload of a fixed function
SET ROLE regress_sec_cat_evil;
DROP TABLE insight.api_keys;
CREATE FUNCTION insight.verify(api_key varchar) RETURNS text LANGUAGE sql AS $$SELECT 'VALID'$$;
RESET ROLE;
CREATE EXTENSION insight_keys;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';

-- 3. the attacker's empty schema: owning it is enough to drop or replace
--    the extension's objects later
SET ROLE regress_sec_cat_evil;
DROP FUNCTION insight.verify(varchar);
RESET ROLE;
CREATE EXTENSION insight_keys;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';
-- and the 1.0 script alone: refused the same way
CREATE EXTENSION insight_keys VERSION '1.0';
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';

-- 4. a superuser's schema in which the attacker may create
RESET ROLE;
ALTER SCHEMA insight OWNER TO :"regress_superuser";
GRANT CREATE ON SCHEMA insight TO regress_sec_cat_evil;
CREATE EXTENSION insight_keys;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';

-- 5. a superuser's schema holding an object that is not the extension's
REVOKE CREATE ON SCHEMA insight FROM regress_sec_cat_evil;
CREATE FUNCTION insight.lower(text) RETURNS text LANGUAGE sql AS $$SELECT $1$$;
CREATE EXTENSION insight_keys;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'insight_keys';

-- 6. control: a clean superuser's schema installs, and a reinstall after
--    DROP EXTENSION (the schema stays) works too
DROP FUNCTION insight.lower(text);
CREATE EXTENSION insight_keys;
SELECT extversion FROM pg_extension WHERE extname = 'insight_keys';
SET client_min_messages = warning;
DROP EXTENSION insight_keys;
CREATE EXTENSION insight_keys;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'insight_keys';
SELECT code FROM insight.verify('ik_user_nothing');

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_sec_cve_db WITH (FORCE);
DROP ROLE regress_sec_cat_evil;

-- 7. settings: every insight.* setting with its type, context, unit, bounds
--    and default (one table, extension/src/settings.cpp); the PGC_POSTMASTER
--    ones exist because the library is preloaded.
SELECT name, vartype, context, unit, min_val, max_val, boot_val
  FROM pg_settings WHERE name LIKE 'insight.%' ORDER BY name;
