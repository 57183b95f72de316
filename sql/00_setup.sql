-- Shared setup for the core pg_regress suite: the extension, cluster-wide
-- roles used by later files, and the helpers they share.
CREATE EXTENSION IF NOT EXISTS insight_keys CASCADE;
SELECT extname, extversion FROM pg_extension WHERE extname IN ('insight_keys', 'pgcrypto') ORDER BY 1;

\ir sql/fixtures/regress_try.sql

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

-- Keys a test names by label: it fills public.regress_keys (emptied first)
-- with what generate_*_key returned. regress_try_as(role, sql) is regress_try
-- as that role (NULL: as the caller); regress_try_as_key(label, sql) is
-- regress_try with the principal of that key, reset afterwards.
CREATE TABLE public.regress_keys (label text PRIMARY KEY, key_id uuid, api_key text);
GRANT ALL ON public.regress_keys TO PUBLIC;
CREATE FUNCTION public.regress_try_as(who name, stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  IF who IS NOT NULL THEN EXECUTE format('SET LOCAL ROLE %I', who); END IF;
  r := public.regress_try(stmt);
  RESET ROLE;
  RETURN r;
END
$f$;
CREATE FUNCTION public.regress_try_as_key(label text, stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  PERFORM insight.authenticate((SELECT api_key FROM public.regress_keys k WHERE k.label = regress_try_as_key.label));
  r := public.regress_try(stmt);
  PERFORM insight.reset_principal();
  RETURN r;
END
$f$;
-- What a refused call must leave as it was: every key's stored facts and the
-- whole audit trail (last_used_at aside, which verify's flush may move).
CREATE FUNCTION public.regress_keys_snapshot() RETURNS text LANGUAGE sql AS $f$
  SELECT md5(coalesce((SELECT string_agg(concat_ws('|', id, kind, org_id, owner_id, name, hint,
                                                   encode(secret_hash, 'hex'), expires_at,
                                                   disabled_at, rotated_to), ',' ORDER BY id)
                         FROM insight.api_keys), '')
             || (SELECT count(*) || ':' || coalesce(max(id), 0) FROM insight.audit_log))
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
