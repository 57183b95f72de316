-- Without shared_preload_libraries a backend loads the library on its first
-- call of an extension function: DISCARD ALL, RESET ALL and SET SESSION
-- AUTHORIZATION forget the principal all the same (docs/SECURITY.md,
-- "Binding of the principal").
\set own_db regress_nopreload_pr_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
CREATE ROLE regress_nopreload_pr_app NOLOGIN;
SELECT insight.create_user('npr-admin@example.com', platform_admin => true) AS admin_id \gset
-- a fresh backend, whose first call loads the library
\c regress_nopreload_pr_db
SELECT count(*) AS loaded_before FROM pg_settings WHERE name = 'insight.cascade_batch_size';
SELECT insight.act_as(:'admin_id', 'session');
SELECT insight._worker_loaded() AS worker_loaded, kind, via FROM insight.whoami();
DISCARD ALL;
SELECT kind, via FROM insight.whoami();
SELECT insight.act_as(:'admin_id', 'session');
RESET ALL;
SELECT kind, via FROM insight.whoami();
SELECT insight.act_as(:'admin_id', 'session');
SET SESSION AUTHORIZATION regress_nopreload_pr_app;
RESET SESSION AUTHORIZATION;
SELECT kind, via FROM insight.whoami();

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_nopreload_pr_app;
