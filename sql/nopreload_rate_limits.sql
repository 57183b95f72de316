-- Without shared_preload_libraries there is no rate-limit table: a request
-- is not available (callers refuse it, RATE_LIMITED), never let through
-- unlimited; insight.stats says the table is not there (docs/SECURITY.md,
-- "Rate limits").
\set own_db regress_nopreload_rl_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
SELECT allowed, available, remaining, reset FROM insight._rate_limit_consume(gen_random_uuid(), 100, '1 minute');
SELECT rate_limit_capacity, rate_limit_entries, rate_limit_refused_full FROM insight.stats;
-- the arguments are checked all the same
SELECT insight._rate_limit_consume(gen_random_uuid(), 0, '1 minute');
SELECT insight._rate_limit_consume(gen_random_uuid(), 1, '999 milliseconds');
-- and the probe is not for everyone
CREATE ROLE regress_nopreload_rl_stranger;
SET ROLE regress_nopreload_rl_stranger;
SELECT insight._rate_limit_consume(gen_random_uuid(), 1, '1 minute');
RESET ROLE;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_nopreload_rl_stranger;
