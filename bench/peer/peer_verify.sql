-- The baselines insight.verify is measured against (bench/suites/10_verify.sh):
-- what a competent user would write with pgcrypto over the same tables. The
-- public lookup id is the third '_'-separated field of the key; one
-- unique-index probe finds the row, digest(key, 'sha256') is compared with the
-- stored hash, and the owner's role comes from the same joins verify makes.
-- They read the base tables directly, so the benchmark runs them as a
-- superuser (row-level security does not apply to superusers).
CREATE SCHEMA IF NOT EXISTS peer;

-- (b) LANGUAGE sql, STABLE, one SELECT: the planner inlines it into the
-- calling query, so there is no function-call overhead at all.
CREATE OR REPLACE FUNCTION peer.verify_sql(api_key text)
RETURNS TABLE (valid boolean, code text, key_id uuid, kind text, org_id uuid, user_id uuid,
               role text, expires_at timestamptz)
LANGUAGE sql STABLE AS $f$
  SELECT v.ok, CASE WHEN v.ok THEN 'VALID' ELSE 'NOT_FOUND' END,
         k.id, k.kind, k.org_id, k.owner_id, m.role, k.expires_at
    FROM (SELECT 1) AS one
    LEFT JOIN insight.api_keys k
           ON k.lookup_id = split_part(api_key, '_', 3)
          AND k.secret_hash = public.digest(api_key, 'sha256')
    LEFT JOIN insight.users u ON u.id = k.owner_id
    LEFT JOIN insight.memberships m ON m.user_id = k.owner_id AND m.org_id = k.org_id
    CROSS JOIN LATERAL (SELECT k.id IS NOT NULL
                               AND (k.expires_at IS NULL OR k.expires_at > now())
                               AND (k.kind = 'organization' OR m.role IS NOT NULL) AS ok) AS v
$f$;

-- (c) The same lookup in PL/pgSQL.
CREATE OR REPLACE FUNCTION peer.verify_plpgsql(api_key text)
RETURNS TABLE (valid boolean, code text, key_id uuid, kind text, org_id uuid, user_id uuid,
               role text, expires_at timestamptz)
LANGUAGE plpgsql STABLE AS $f$
DECLARE
  k insight.api_keys%ROWTYPE;
  member_role text;
BEGIN
  SELECT * INTO k FROM insight.api_keys a
   WHERE a.lookup_id = split_part(api_key, '_', 3)
     AND a.secret_hash = public.digest(api_key, 'sha256');
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, 'NOT_FOUND'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid,
                        NULL::text, NULL::timestamptz;
    RETURN;
  END IF;
  IF k.kind = 'user' THEN
    SELECT m.role INTO member_role FROM insight.memberships m
     WHERE m.user_id = k.owner_id AND m.org_id = k.org_id;
  END IF;
  IF k.expires_at IS NOT NULL AND k.expires_at <= now() THEN
    RETURN QUERY SELECT false, 'EXPIRED'::text, k.id, k.kind, k.org_id, k.owner_id, NULL::text,
                        k.expires_at;
  ELSIF k.kind = 'user' AND member_role IS NULL THEN
    RETURN QUERY SELECT false, 'OWNER_INACTIVE'::text, k.id, k.kind, k.org_id, k.owner_id,
                        NULL::text, k.expires_at;
  ELSE
    RETURN QUERY SELECT true, 'VALID'::text, k.id, k.kind, k.org_id, k.owner_id,
                        coalesce(member_role, 'org_admin'), k.expires_at;
  END IF;
END
$f$;
