-- Shared setup for the core pg_regress suite: the extension, cluster-wide
-- roles used by later files, and two helpers.
CREATE EXTENSION IF NOT EXISTS insight_keys CASCADE;
SELECT extname, extversion FROM pg_extension WHERE extname IN ('insight_keys', 'pgcrypto') ORDER BY 1;

-- regress_try(sql): runs one statement and answers 'ok' or 'SQLSTATE: message'.
-- Both are the contract of an error: the code a caller tests and the words a
-- user reads. Messages carry no uuid or key (a key in one would also differ
-- from run to run, so the comparison catches it).
CREATE FUNCTION public.regress_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$f$;

-- regress_drain(): applies every queued cascade. When the worker is loaded it
-- may hold an event while we look, so wait (bounded) until the queue is empty
-- of pending and running events; the outcome is then the same either way.
CREATE FUNCTION public.regress_drain() RETURNS boolean
LANGUAGE plpgsql AS $f$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
  LOOP
    PERFORM insight.apply_cascades();
    IF NOT EXISTS (SELECT 1 FROM insight.cascade_queue WHERE state IN ('pending', 'running')) THEN
      RETURN true;
    END IF;
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'cascade queue not drained within 60 seconds';
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$f$;

-- Roles that are not mapped to any user (mapped roles are created by each file).
CREATE ROLE regress_app NOLOGIN;            -- a trusted application
GRANT insight_trusted_app TO regress_app;
CREATE ROLE regress_untrusted_app NOLOGIN;  -- an application the DBA did not mark
CREATE ROLE regress_nobody NOLOGIN;         -- no mapping, no mark: nobody
CREATE ROLE regress_operator NOLOGIN;       -- acts as the operator
GRANT insight_operator TO regress_operator;

SET ROLE regress_nobody;
SELECT kind, via FROM insight.whoami();
RESET ROLE;
SET ROLE regress_operator;
SELECT kind, via FROM insight.whoami();
RESET ROLE;
SELECT kind, via FROM insight.whoami();
