-- verify_cache_memory: insight.verify_cache_size decides how much memory
-- every backend may pin (about 620 MB at its maximum), so only a superuser may
-- change it; the cache lives in its own memory context, named in
-- pg_backend_memory_contexts, and a smaller size gives the memory back.
-- Runs in its own database.
\set own_db regress_vcmem_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
CREATE ROLE regress_vcmem_user NOLOGIN;

SELECT name, setting, context FROM pg_settings WHERE name = 'insight.verify_cache_size';

-- An ordinary role may not set it, by SET, set_config or ALTER ROLE.
SET ROLE regress_vcmem_user;
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE stmt;
  RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END
$f$;
SELECT pg_temp.try('SET insight.verify_cache_size = 1000000') AS by_set;
SELECT pg_temp.try($$SELECT set_config('insight.verify_cache_size', '1000000', false)$$) AS by_set_config;
SELECT pg_temp.try('ALTER ROLE regress_vcmem_user SET insight.verify_cache_size = 1000000') AS by_alter_role;
SHOW insight.verify_cache_size;
RESET ROLE;

-- The cache's memory, by name: the default 10000 entries, then 0 (freed),
-- then back.
SELECT capacity FROM insight.verify_cache_status();
SELECT name, parent, total_bytes > 10000 * 100 AS holds_the_slots
  FROM pg_backend_memory_contexts WHERE name = 'insight_keys verify cache';
SET insight.verify_cache_size = 0;
SELECT capacity FROM insight.verify_cache_status();
SELECT name, total_bytes < 10000 AS freed
  FROM pg_backend_memory_contexts WHERE name = 'insight_keys verify cache';
RESET insight.verify_cache_size;
SELECT capacity FROM insight.verify_cache_status();
SELECT name, total_bytes > 10000 * 100 AS holds_the_slots
  FROM pg_backend_memory_contexts WHERE name = 'insight_keys verify cache';

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_vcmem_user;
