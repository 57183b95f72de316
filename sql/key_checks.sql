-- key_checks: per-key settings (configure_key), check() and its code order,
-- scope wildcards, CIDR allowlists, max_role and the principal in an
-- application's own row-level security policies. See docs/SECURITY.md,
-- "Narrower keys", and README, "Row-level security on your own tables".
\set own_db regress_kc_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
\ir sql/fixtures/regress_try.sql

CREATE ROLE regress_kc_app NOLOGIN;        -- the application: authenticates, acts as people
GRANT insight_trusted_app TO regress_kc_app;
CREATE ROLE regress_kc_admin NOLOGIN;      -- org_admin of O
CREATE ROLE regress_kc_rw NOLOGIN;         -- read_write member of O
CREATE ROLE regress_kc_stranger NOLOGIN;   -- nobody
CREATE ROLE regress_kc_operator NOLOGIN;
GRANT insight_operator TO regress_kc_operator;

SELECT insight.create_organization('kc-o') AS org_o \gset
SELECT insight.create_organization('kc-p') AS org_p \gset
SELECT insight.create_user('kc-admin@example.com', db_role => 'regress_kc_admin') AS admin_id \gset
SELECT insight.create_user('kc-rw@example.com', db_role => 'regress_kc_rw') AS rw_id \gset
SELECT insight.create_user('kc-gone@example.com') AS gone_id \gset
SELECT insight.create_user('kc-root@example.com', platform_admin => true) AS root_id \gset
SELECT insight.set_membership(:'admin_id', :'org_o', 'org_admin');
SELECT insight.set_membership(:'rw_id', :'org_o', 'read_write');
SELECT insight.set_membership(:'gone_id', :'org_o', 'read_only');
SELECT key_id AS ok_id, api_key AS ok FROM insight.generate_org_key(:'org_o', 'ok') \gset
SELECT key_id AS p_id, api_key AS p_key FROM insight.generate_org_key(:'org_p', 'p') \gset
SELECT key_id AS revoked_id, api_key AS revoked FROM insight.generate_org_key(:'org_o', 'revoked') \gset
SELECT key_id AS expired_id, api_key AS expired FROM insight.generate_org_key(:'org_o', 'expired') \gset
SELECT key_id AS net_id, api_key AS net FROM insight.generate_org_key(:'org_o', 'net') \gset
SELECT key_id AS sc_id, api_key AS sc FROM insight.generate_org_key(:'org_o', 'scoped') \gset
SELECT key_id AS lim_id, api_key AS lim FROM insight.generate_org_key(:'org_o', 'limited') \gset
SET ROLE regress_kc_admin;
SELECT key_id AS ak_id, api_key AS ak FROM insight.generate_user_key(:'org_o', 'admin key') \gset
RESET ROLE;
SET ROLE regress_kc_rw;
SELECT key_id AS rk_id, api_key AS rk FROM insight.generate_user_key(:'org_o', 'rw key') \gset
RESET ROLE;
SELECT insight.act_as(:'gone_id', 'session');
SELECT key_id AS gk_id, api_key AS gk FROM insight.generate_user_key(:'org_o', 'gone key') \gset
SELECT insight.reset_principal();
SELECT insight.act_as(:'root_id', 'session');
SELECT key_id AS root_key_id, api_key AS root_key FROM insight.generate_user_key(:'org_o', 'root key') \gset
SELECT insight.reset_principal();

-- ================================================================ configure_key
-- A new key has no settings; the view shows them.
SELECT settings FROM insight.keys WHERE key_id = :'ok_id';
-- Every error is 22023 and changes nothing.
SELECT insight.configure_key(:'net_id', '{"allowed_cidrs": ["10.0.0.0/8"]}');
SELECT settings, regress_try(format('SELECT insight.configure_key(%L, %L)', :'net_id', settings)) AS outcome
  FROM (VALUES
  ($j$[]$j$),
  ($j$"x"$j$),
  ($j${"colour": "red"}$j$),
  ($j${"colour": null}$j$),
  ($j${"max_role": "owner"}$j$),
  ($j${"max_role": 3}$j$),
  ($j${"scopes": "logs:*"}$j$),
  ($j${"scopes": ["logs read"]}$j$),
  ($j${"scopes": ["a*b"]}$j$),
  ($j${"scopes": [""]}$j$),
  ($j${"allowed_cidrs": ["10.0.0.1/8"]}$j$),
  ($j${"allowed_cidrs": ["10.0.0.0/33"]}$j$),
  ($j${"allowed_cidrs": ["2001:db8::1/32"]}$j$),
  ($j${"allowed_cidrs": ["example.com"]}$j$),
  ($j${"rate_limit": {"limit": 0, "window": "1 minute"}}$j$),
  ($j${"rate_limit": {"limit": 1.5, "window": "1 minute"}}$j$),
  ($j${"rate_limit": {"limit": 10}}$j$),
  ($j${"rate_limit": {"limit": 10, "window": "500 milliseconds"}}$j$),
  ($j${"rate_limit": {"limit": 10, "window": "1 month"}}$j$),
  ($j${"rate_limit": {"limit": 10, "window": "banana"}}$j$),
  ($j${"rate_limit": {"limit": 10, "window": "1 minute", "burst": 1}}$j$)
) AS t(settings);
SELECT regress_try(format('SELECT insight.configure_key(%L, NULL)', :'net_id')) AS null_settings,
       regress_try($$SELECT insight.configure_key(NULL, '{}')$$) AS null_key;
SELECT settings FROM insight.api_keys WHERE id = :'net_id';
-- Merge, null clears, the result is returned.
SELECT insight.configure_key(:'net_id', '{"scopes": ["logs:*"], "max_role": "read_only"}');
SELECT insight.configure_key(:'net_id', '{"scopes": null, "max_role": null, "rate_limit": {"limit": 5, "window": "1 hour"}}');
SELECT insight.configure_key(:'net_id', '{"rate_limit": null}');
SELECT settings FROM insight.api_keys WHERE id = :'net_id';
-- Audited.
SELECT action, actor_kind, detail->>'name' AS name, detail->'settings' AS settings
  FROM insight.audit WHERE action = 'key.configured' AND key_id = :'net_id' ORDER BY id;
-- Who: the rights of revoke_key, never a key. An unknown key, a key the
-- principal may not manage and nobody get the unknown-key error.
SELECT regress_try($$SELECT insight.configure_key(gen_random_uuid(), '{}')$$) AS unknown_key;
SET ROLE regress_kc_rw;
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{"scopes": []}')$$, :'ok_id')) AS rw_on_org_key;
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{"scopes": ["x:*"]}')$$, :'rk_id')) AS rw_on_own_key;
RESET ROLE;
SET ROLE regress_kc_stranger;
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{}')$$, :'ok_id')) AS nobody;
RESET ROLE;
SET ROLE regress_kc_admin;
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{"scopes": []}')$$, :'p_id')) AS other_org;
RESET ROLE;
SET ROLE regress_kc_app;
BEGIN;
SELECT code FROM insight.authenticate(:'ok');
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{}')$$, :'ok_id')) AS as_a_key;
SELECT regress_try(format($$SELECT insight.configure_key(%L, '{"max_role": null}')$$, :'ak_id')) AS on_another_key;
COMMIT;
RESET ROLE;
SELECT settings FROM insight.api_keys WHERE id IN (:'ok_id', :'rk_id', :'p_id') ORDER BY name;
-- A patch merges: '{}' changes nothing, null removes.
SELECT insight.configure_key(:'rk_id', '{}');
SELECT insight.configure_key(:'rk_id', '{"scopes": null}');

-- ================================================================ check: code order
-- One transaction: the removal's cascade cannot delete the owner-gone key
-- before check() has seen it (the worker may run as soon as the removal
-- commits), so that row answers OWNER_INACTIVE, not NOT_FOUND.
BEGIN;
UPDATE insight.api_keys SET expires_at = '2000-01-01' WHERE id = :'expired_id';
SELECT insight.revoke_key(:'revoked_id');
SELECT insight.remove_membership(:'gone_id', :'org_o');
SELECT insight.configure_key(:'expired_id', '{"allowed_cidrs": [], "scopes": [], "rate_limit": {"limit": 1, "window": "1 hour"}}');
SELECT insight.configure_key(:'gk_id', '{"allowed_cidrs": [], "rate_limit": {"limit": 1, "window": "1 hour"}}');
SELECT insight.configure_key(:'net_id', '{"allowed_cidrs": ["10.0.0.0/8"], "scopes": ["logs:*"], "rate_limit": {"limit": 1, "window": "1 hour"}}');
SELECT insight.configure_key(:'sc_id', '{"allowed_cidrs": ["10.0.0.0/8"], "scopes": ["logs:*"]}');
SELECT insight.configure_key(:'lim_id', '{"rate_limit": {"limit": 3, "window": "1 hour"}}');
SELECT label, c.valid, c.code, c.kind, c.role, c.key_id IS NOT NULL AS described,
       c.rate_limit_remaining, c.rate_limit_reset IS NOT NULL AS has_reset
  FROM (VALUES
    (1, 'malformed', 'ik_org_nope', NULL, NULL),
    (2, 'revoked', :'revoked', NULL, NULL),
    (3, 'expired (with cidrs, scopes, limit)', :'expired', 'logs:read', NULL),
    (4, 'owner gone (with cidrs, limit)', :'gk', NULL, NULL),
    (5, 'no address', :'net', 'billing:read', NULL),
    (6, 'address outside', :'net', 'billing:read', '11.0.0.1'),
    (7, 'inside, scope does not match', :'net', 'billing:read', '10.0.0.1'),
    (8, 'inside, scope matches, no permission asked', :'sc', NULL, '10.0.0.1'),
    (9, 'inside, scope matches', :'sc', 'logs:read', '10.0.0.1'),
    (10, 'plain key', :'ok', 'anything', NULL)
  ) AS t(n, label, k, perm, addr),
  LATERAL insight.check(t.k, t.perm, t.addr::inet) c
 ORDER BY n;
COMMIT;
-- Defaults: check(api_key) alone.
SELECT code, rate_limit_remaining, rate_limit_reset FROM insight.check(:'ok');

-- ---------------------------------------------------------------- scope wildcards
SELECT insight.configure_key(:'sc_id', '{"allowed_cidrs": null, "scopes": ["logs:*", "investigations:read"]}');
SELECT p, (insight.check(:'sc', p)).code
  FROM unnest(ARRAY['logs:read', 'logs:', 'logs', 'logsx', 'logsx:read', 'investigations:read',
                    'investigations:readx', 'investigations:*', 'Logs:read', '']) AS p;
SELECT insight.configure_key(:'sc_id', '{"scopes": ["*"]}');
SELECT p, (insight.check(:'sc', p)).code FROM unnest(ARRAY['logs:read', '', 'x']) AS p;
SELECT insight.configure_key(:'sc_id', '{"scopes": []}');
SELECT p, (insight.check(:'sc', p)).code FROM unnest(ARRAY['logs:read', '', '*']) AS p;
SELECT (insight.check(:'sc')).code AS no_permission_asked;

-- ---------------------------------------------------------------- CIDR edges
SELECT insight.configure_key(:'sc_id', '{"scopes": null, "allowed_cidrs": ["192.168.1.128/25", "2001:db8::/32", "203.0.113.7"]}');
SELECT a, (insight.check(:'sc', NULL, a::inet)).code
  FROM unnest(ARRAY['192.168.1.128', '192.168.1.255', '192.168.1.127', '192.168.2.128',
                    '::ffff:192.168.1.200', '::ffff:192.168.1.1', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
                    '2001:db9::', '203.0.113.7', '203.0.113.8', '192.168.1.200/24']) AS a;
SELECT (insight.check(:'sc', NULL, NULL)).code AS no_address;
-- verify has no address: FORBIDDEN. authenticate without an address fails;
-- the three-argument form checks it.
SELECT valid, code, kind, role FROM insight.verify(:'sc');
SET ROLE regress_kc_app;
SELECT regress_try(format('SELECT insight.authenticate(%L)', :'sc')) AS authenticate_1;
SELECT regress_try(format('SELECT insight.authenticate(%L, %L, %L)', :'sc', 'transaction', '10.0.0.1')) AS outside;
SELECT regress_try(format('SELECT insight.authenticate(%L, %L, NULL)', :'sc', 'transaction')) AS no_address;
BEGIN;
SELECT code, role FROM insight.authenticate(:'sc', 'transaction', '2001:db8::5');
SELECT kind, via FROM insight.whoami();
COMMIT;
RESET ROLE;
SELECT insight.configure_key(:'sc_id', '{"allowed_cidrs": null}');

-- ---------------------------------------------------------------- rate limits
-- The key's first window begins with its first counted request: a limit of 3
-- per hour gives exactly 3 VALID, each with what is left, then RATE_LIMITED.
-- verify never counts. (repeat('', n) makes each row call the function.)
SELECT count(*) FILTER (WHERE v.code = 'VALID') AS verify_valid
  FROM generate_series(1, 5) n, LATERAL insight.verify(:'lim' || repeat('', n)) v;
SELECT n, c.code, c.rate_limit_remaining, c.rate_limit_reset > now() AS reset_ahead
  FROM generate_series(1, 5) n, LATERAL insight.check(:'lim' || repeat('', n)) c ORDER BY n;
-- authenticate counts too, and fails with 28000 once the window is used up.
SELECT insight.configure_key(:'lim_id', '{"rate_limit": {"limit": 2, "window": "2 hours"}}');
SET ROLE regress_kc_app;
SELECT regress_try(format('SELECT insight.authenticate(%L)', :'lim')) AS first;
SELECT insight.reset_principal();
RESET ROLE;
SELECT code, rate_limit_remaining FROM insight.check(:'lim');
SET ROLE regress_kc_app;
SELECT regress_try(format('SELECT insight.authenticate(%L)', :'lim')) AS third;
RESET ROLE;
-- Only a request that reaches the rate-limit step counts: the net key (limit
-- 1) answered FORBIDDEN and INSUFFICIENT_PERMISSIONS above, the expired key
-- (limit 1) EXPIRED; neither consumed.
SELECT code, rate_limit_remaining FROM insight.check(:'net', 'logs:read', '10.1.2.3');
SELECT code, rate_limit_remaining FROM insight.check(:'net', 'logs:read', '10.1.2.3');
UPDATE insight.api_keys SET expires_at = NULL WHERE id = :'expired_id';
SELECT insight.configure_key(:'expired_id', '{"allowed_cidrs": null, "scopes": null}');
SELECT code, rate_limit_remaining FROM insight.check(:'expired');
SELECT code, rate_limit_remaining FROM insight.check(:'expired');

-- ================================================================ max_role
SELECT insight.configure_key(:'ok_id', '{"max_role": "read_only"}');
SELECT insight.configure_key(:'ak_id', '{"max_role": "read_write"}');
SELECT insight.configure_key(:'root_key_id', '{"max_role": "org_admin"}');
SELECT 'org key' AS k, code, role FROM insight.verify(:'ok')
UNION ALL SELECT 'admin key', code, role FROM insight.verify(:'ak')
UNION ALL SELECT 'rw key', code, role FROM insight.check(:'rk')
UNION ALL SELECT 'platform admin key', code, role FROM insight.check(:'root_key');
SET ROLE regress_kc_app;
BEGIN;
SELECT role FROM insight.authenticate(:'ok');
SELECT role FROM insight.whoami();
-- read_only: views its organization, not its keys, and cannot revoke.
SELECT count(*) AS orgs FROM insight.organizations;
SELECT count(*) AS keys FROM insight.keys;
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'rk_id')) AS revoke;
COMMIT;
BEGIN;
SELECT role FROM insight.authenticate(:'ak');
SELECT count(*) AS keys_seen FROM insight.keys;  -- its owner's own key only
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'rk_id')) AS revoke;
COMMIT;
RESET ROLE;
-- Lifting the ceiling gives the key back its org_admin rights.
SELECT insight.configure_key(:'ok_id', '{"max_role": null}');
SET ROLE regress_kc_app;
BEGIN;
SELECT role FROM insight.authenticate(:'ok');
SELECT count(*) > 5 AS sees_keys FROM insight.keys;
COMMIT;
RESET ROLE;

-- ================================================================ application policies
CREATE TABLE public.investigations (id int PRIMARY KEY, org_id uuid NOT NULL, title text NOT NULL);
INSERT INTO public.investigations VALUES (1, :'org_o', 'o-1'), (2, :'org_o', 'o-2'), (3, :'org_p', 'p-1');
ALTER TABLE public.investigations ENABLE ROW LEVEL SECURITY;
CREATE POLICY investigations_read ON public.investigations FOR SELECT
  USING (insight.acts_in_org(org_id) AND insight.has_scope('investigations:read'));
CREATE POLICY investigations_key_org ON public.investigations AS RESTRICTIVE FOR SELECT
  USING (insight.current_org_id() IS NULL OR org_id = insight.current_org_id());
GRANT SELECT ON public.investigations TO PUBLIC;
SELECT insight.configure_key(:'ok_id', '{"scopes": ["investigations:read"]}');
SELECT insight.configure_key(:'p_id', '{"scopes": ["logs:*"]}');
CREATE FUNCTION public.regress_seen(o uuid, p uuid) RETURNS TABLE (titles text, has_scope boolean, in_o boolean, in_p boolean,
                                                     org_is text, user_is text)
LANGUAGE sql AS $f$
  SELECT (SELECT coalesce(string_agg(title, ',' ORDER BY id), '-') FROM public.investigations),
         insight.has_scope('investigations:read'),
         insight.acts_in_org(o),
         insight.acts_in_org(p),
         coalesce((SELECT name FROM insight.organizations WHERE id = insight.current_org_id()), '-'),
         coalesce((SELECT email FROM insight.user_accounts WHERE id = insight.current_user_id()), '-')
$f$;
SET ROLE regress_kc_app;
SELECT 'nobody' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
BEGIN;
SELECT code FROM insight.authenticate(:'ok');
SELECT 'org key, investigations:read' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
COMMIT;
BEGIN;
SELECT code FROM insight.authenticate(:'p_key');
SELECT 'org key of P, logs:*' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
COMMIT;
BEGIN;
SELECT code FROM insight.authenticate(:'rk');
SELECT 'user key, no scopes' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
COMMIT;
BEGIN;
SELECT insight.act_as(:'rw_id');
SELECT 'act_as member of O' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
COMMIT;
BEGIN;
SELECT insight.act_as(:'root_id');
SELECT 'act_as platform admin' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
COMMIT;
RESET ROLE;
SET ROLE regress_kc_operator;
SELECT 'operator' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
RESET ROLE;
SET ROLE regress_kc_stranger;
SELECT 'stranger' AS principal, * FROM public.regress_seen(:'org_o', :'org_p');
RESET ROLE;
-- In a parallel worker the functions answer for the leader's principal: the
-- rows seen are the same when the whole query runs in a worker.
CREATE FUNCTION public.regress_in_worker(q text) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
  RETURN (plan->0->'Plan'->>'Workers Launched')::int > 0;
END
$f$;
SET force_parallel_mode = on;
SET ROLE regress_kc_app;
BEGIN;
SELECT code FROM insight.authenticate(:'ok');
SELECT regress_in_worker('SELECT title FROM public.investigations') AS ran_in_worker;
SELECT string_agg(title, ',' ORDER BY id) AS org_key_sees, bool_and(insight.has_scope('investigations:read')) AS has_scope,
       bool_and(insight.current_org_id() = org_id) AS own_org
  FROM public.investigations;
COMMIT;
BEGIN;
SELECT code FROM insight.authenticate(:'p_key');
SELECT count(*) AS p_key_sees FROM public.investigations;
COMMIT;
BEGIN;
SELECT insight.act_as(:'root_id');
SELECT string_agg(title, ',' ORDER BY id) AS platform_admin_sees, count(insight.current_user_id()) AS with_user
  FROM public.investigations;
COMMIT;
SELECT count(*) AS nobody_sees FROM public.investigations;
RESET ROLE;
RESET force_parallel_mode;
-- A user key stops acting in the organization when its owner leaves it.
SET ROLE regress_kc_app;
SELECT code FROM insight.authenticate(:'rk', 'session');
SELECT titles, in_o FROM public.regress_seen(:'org_o', :'org_p');
RESET ROLE;
SELECT insight.remove_membership(:'rw_id', :'org_o');
SET ROLE regress_kc_app;
SELECT titles, in_o, user_is FROM public.regress_seen(:'org_o', :'org_p');
SELECT insight.reset_principal();
RESET ROLE;
SELECT proname, provolatile, proparallel, proisstrict FROM pg_proc
 WHERE pronamespace = 'insight'::regnamespace
   AND proname IN ('has_scope', 'acts_in_org', 'current_org_id', 'current_user_id', 'check', 'configure_key')
 ORDER BY proname;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_kc_app, regress_kc_admin, regress_kc_rw, regress_kc_stranger, regress_kc_operator;
