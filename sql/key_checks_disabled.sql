-- key_checks_disabled: a disabled key answers DISABLED from check() before
-- any later step (address, scope, rate limit), and a refused request does not
-- count against the key's rate limit: once the key is enabled again, the whole
-- limit is available. The code order is in README, "Narrower keys".
\set own_db regress_kcd_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;
\ir sql/fixtures/regress_try.sql
CREATE ROLE regress_kcd_app NOLOGIN;  -- the application: authenticates keys
GRANT insight_trusted_app TO regress_kcd_app;

SELECT insight.create_organization('kcd-o') AS org \gset
-- lim: a rate limit only; full: a rate limit, an address allowlist and scopes.
SELECT key_id AS lim_id, api_key AS lim FROM insight.generate_org_key(:'org', 'limited') \gset
SELECT key_id AS full_id, api_key AS full FROM insight.generate_org_key(:'org', 'narrow') \gset
SELECT insight.configure_key(:'lim_id', '{"rate_limit": {"limit": 3, "window": "1 hour"}}');
SELECT insight.configure_key(:'full_id', '{"rate_limit": {"limit": 2, "window": "1 hour"},
  "allowed_cidrs": ["10.0.0.0/8"], "scopes": ["logs:read"]}');
SELECT insight.disable_key(:'lim_id');
SELECT insight.disable_key(:'full_id');
-- The shared-memory table gets an entry for a key at its first counted request.
SELECT rate_limit_entries AS entries_before FROM insight.stats \gset

-- Disabled: every request answers DISABLED, valid false, the key described
-- but no role, and no rate-limit columns (the limit was not reached).
SELECT n, c.valid, c.code, c.key_id = :'lim_id' AS described, c.role,
       c.rate_limit_remaining, c.rate_limit_reset
  FROM generate_series(1, 5) n, LATERAL insight.check(:'lim' || repeat('', n)) c ORDER BY n;
-- DISABLED comes before FORBIDDEN, INSUFFICIENT_PERMISSIONS and RATE_LIMITED:
-- whatever the address and the permission, with or without them.
SELECT label, c.code, c.rate_limit_remaining
  FROM (VALUES
    (1, 'no address, no permission', NULL, NULL),
    (2, 'address outside', NULL, '192.0.2.1'),
    (3, 'address inside, scope does not match', 'billing:read', '10.0.0.1'),
    (4, 'address inside, scope matches', 'logs:read', '10.0.0.1'),
    (5, 'address inside, scope matches, again', 'logs:read', '10.0.0.2')
  ) AS t(n, label, perm, addr),
  LATERAL insight.check(:'full' || repeat('', t.n), t.perm, t.addr::inet) c
 ORDER BY n;
-- verify answers DISABLED too; authenticate (which counts when it gets that
-- far) fails with 28000 and the code, in both forms.
SELECT valid, code FROM insight.verify(:'lim');
SELECT valid, code FROM insight.verify(:'full');
SET ROLE regress_kcd_app;
SELECT regress_try(format('SELECT insight.authenticate(%L)', :'lim')) AS authenticate_lim;
SELECT regress_try(format('SELECT insight.authenticate(%L, %L, %L)', :'full', 'transaction', '10.0.0.1'))
    AS authenticate_full;
RESET ROLE;
-- Still disabled in a later statement, after all those requests, and neither
-- key has an entry in the rate-limit table: nothing was counted.
SELECT code, rate_limit_remaining FROM insight.check(:'lim');
SELECT rate_limit_entries - :entries_before AS new_entries FROM insight.stats;

-- Enabled: the full limit is there, counted from the first VALID answer.
SELECT insight.enable_key(:'lim_id');
SELECT insight.enable_key(:'full_id');
SELECT n, c.code, c.rate_limit_remaining, c.rate_limit_reset > now() AS reset_ahead
  FROM generate_series(1, 4) n, LATERAL insight.check(:'lim' || repeat('', n)) c ORDER BY n;
-- The narrow key: the failing steps before the limit still do not count; the
-- two requests that pass them use up the limit of 2, then RATE_LIMITED.
SELECT n, c.code, c.rate_limit_remaining
  FROM (VALUES
    (1, NULL, '10.0.0.1'),
    (2, 'billing:read', '10.0.0.1'),
    (3, 'logs:read', '10.0.0.1'),
    (4, 'logs:read', '192.0.2.1'),
    (5, 'logs:read', '10.0.0.3'),
    (6, 'logs:read', '10.0.0.4')
  ) AS t(n, perm, addr),
  LATERAL insight.check(:'full' || repeat('', t.n), t.perm, t.addr::inet) c
 ORDER BY n;
SELECT rate_limit_entries - :entries_before AS new_entries FROM insight.stats;

-- Disabled again once its window is used up: DISABLED, not RATE_LIMITED.
SELECT insight.disable_key(:'lim_id');
SELECT code, rate_limit_remaining FROM insight.check(:'lim');
SELECT insight.enable_key(:'lim_id');
SELECT code, rate_limit_remaining FROM insight.check(:'lim');

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_kcd_app;
