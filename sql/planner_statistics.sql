-- planner_statistics: a role that sees no row of the base tables (row-level
-- security) must not learn their contents from the planner's estimates. With
-- statistics, EXPLAIN's row estimate for a leakproof comparison tells a
-- stranger whether a key name, an e-mail, an organization name or an id
-- exists (most-common values, histogram bounds); without them, the estimate
-- for a value that exists equals the one for a value that does not.
-- Runs in its own database.
\set own_db regress_planstats_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
CREATE ROLE regress_planstats_stranger NOLOGIN;

-- Other tenants' data: 100 organizations, 300 users, 2000 keys of which
-- 1200 are named 'secret-project' in one organization.
CREATE TABLE ids (n int PRIMARY KEY, org uuid, usr uuid);
INSERT INTO ids
SELECT n, insight.create_organization(format('org-%s', chr(97 + n % 26) || n)),
       insight.create_user(format('%s%s@tenant.example', chr(97 + n % 26), n))
  FROM generate_series(1, 100) n;
SELECT insight.create_user(format('%s%s@more.example', chr(97 + n % 26), n)) IS NOT NULL AS more_users
  FROM generate_series(101, 300) n LIMIT 1;
SELECT count(insight.set_membership(usr, org, 'read_write')) AS memberships FROM ids;
SELECT org AS secret_org FROM ids WHERE n = 7 \gset
INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by_label, name, hint, secret_hash)
SELECT md5('k' || g), 'user', CASE WHEN g <= 1200 THEN :'secret_org'::uuid ELSE i.org END, i.usr,
       'label', CASE WHEN g <= 1200 THEN 'secret-project' ELSE 'key-' || g END, 'hint', '\x00'
  FROM generate_series(1, 2000) g JOIN ids i ON i.n = 1 + g % 100;
ANALYZE insight.organizations, insight.users, insight.memberships, insight.api_keys,
        insight.audit_log;

-- Nothing sampled: no statistics on any column of the extension's tables.
SELECT count(*) AS statistics_rows FROM pg_statistic
 WHERE starelid IN (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'insight'::regnamespace);
SELECT c.relname, count(*) FILTER (WHERE a.attstattarget <> 0) AS sampled_columns
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'insight'::regnamespace AND c.relkind = 'r' OR c.oid = 'insight.users_email_key'::regclass
 GROUP BY c.relname ORDER BY c.relname;

-- The stranger sees no row, and the estimates tell it nothing.
SET ROLE regress_planstats_stranger;
CREATE FUNCTION pg_temp.estimate(query text) RETURNS numeric LANGUAGE plpgsql AS $f$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END
$f$;
SELECT (SELECT count(*) FROM insight.api_keys) AS keys_seen,
       (SELECT count(*) FROM insight.users) AS users_seen,
       (SELECT count(*) FROM insight.organizations) AS organizations_seen;
SELECT pg_temp.estimate($$SELECT id FROM insight.api_keys WHERE name = 'secret-project'$$)
     = pg_temp.estimate($$SELECT id FROM insight.api_keys WHERE name = 'no-such-name'$$)
       AS key_name_hidden;
SELECT pg_temp.estimate($$SELECT key_id FROM insight.keys WHERE name = 'secret-project'$$)
     = pg_temp.estimate($$SELECT key_id FROM insight.keys WHERE name = 'no-such-name'$$)
       AS key_name_hidden_in_view;
SELECT pg_temp.estimate(format($$SELECT id FROM insight.api_keys WHERE org_id = %L$$, :'secret_org'))
     = pg_temp.estimate($$SELECT id FROM insight.api_keys WHERE org_id = '00000000-0000-0000-0000-000000000000'$$)
       AS org_id_hidden;
SELECT pg_temp.estimate($$SELECT id FROM insight.users WHERE email < 'h'$$)
     = pg_temp.estimate($$SELECT id FROM insight.users WHERE email < '0'$$)
       AS email_hidden;
SELECT pg_temp.estimate($$SELECT id FROM insight.users WHERE lower(email) < 'h'$$)
     = pg_temp.estimate($$SELECT id FROM insight.users WHERE lower(email) < '0'$$)
       AS email_index_hidden;
SELECT pg_temp.estimate($$SELECT id FROM insight.organizations WHERE name < 'org-h'$$)
     = pg_temp.estimate($$SELECT id FROM insight.organizations WHERE name < '0'$$)
       AS org_name_hidden;
RESET ROLE;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_planstats_stranger;
