-- Without shared_preload_libraries there is no rate-limit table: a request
-- is not available (callers refuse it, RATE_LIMITED), never let through
-- unlimited; insight.stats says the table is not there (docs/SECURITY.md,
-- "Rate limits").
\set regress_db :DBNAME
SET client_min_messages = warning;
CREATE DATABASE regress_nopreload_rl_db;
\c regress_nopreload_rl_db
SET client_min_messages = warning;
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

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_nopreload_rl_db WITH (FORCE);
DROP ROLE regress_nopreload_rl_stranger;
