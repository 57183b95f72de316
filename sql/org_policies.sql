-- Organization policies: set_org_policy's rights, validation and audit (each
-- error changes nothing), generation refused by require_expiry and
-- max_key_lifetime, and the effective expiry
-- least(expires_at, created_at + max_key_lifetime) in verify, authenticate
-- and insight.keys: tightening answers EXPIRED at once, loosening VALID again,
-- and no key row is rewritten.
CREATE ROLE regress_pol_admin NOLOGIN;
CREATE ROLE regress_pol_member NOLOGIN;
CREATE ROLE regress_pol_outsider NOLOGIN;
CREATE ROLE regress_pol_platform NOLOGIN;
SELECT insight.create_organization('pol-org') AS org \gset
SELECT insight.create_organization('pol-other') AS other \gset
SELECT insight.create_organization('pol-life') AS life \gset
SELECT insight.create_user('pol-admin@example.com', db_role => 'regress_pol_admin') AS admin_id \gset
SELECT insight.create_user('pol-member@example.com', db_role => 'regress_pol_member') AS member_id \gset
SELECT insight.create_user('pol-outsider@example.com', db_role => 'regress_pol_outsider') AS outsider_id \gset
SELECT insight.create_user('pol-platform@example.com', platform_admin => true, db_role => 'regress_pol_platform') AS platform_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');
SELECT insight.set_membership(:'outsider_id', :'other', 'org_admin');
SELECT api_key AS org_key FROM insight.generate_org_key(:'org', 'pol org key') \gset

-- What every refused call must leave as it was.
CREATE VIEW public.regress_pol_state AS
SELECT (SELECT count(*) FROM insight.org_policies_t) AS policies,
       (SELECT count(*) FROM insight.audit_log WHERE action = 'organization.policy_set') AS audits,
       (SELECT count(*) FROM insight.api_keys WHERE org_id IN (SELECT id FROM insight.organizations WHERE name LIKE 'pol-%')) AS keys;
GRANT SELECT ON public.regress_pol_state TO PUBLIC;
SELECT * FROM public.regress_pol_state;

-- ---------------------------------------------------------------- validation: 22023
SELECT public.regress_try($$SELECT insight.set_org_policy(NULL)$$) AS null_org;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, max_key_lifetime => '0')$$, :'org')) AS zero_lifetime;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, max_key_lifetime => '-1 day')$$, :'org')) AS negative_lifetime;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, max_key_lifetime => '1 mon -29 days')$$, :'org')) AS negative_part;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, max_key_lifetime => '101 years')$$, :'org')) AS over_100_years;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, require_expiry => NULL)$$, :'org')) AS null_require;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, revoke_unused_after => '0 seconds')$$, :'org')) AS zero_unused;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, notify_before => '-1 hour')$$, :'org')) AS negative_notify;
SELECT * FROM public.regress_pol_state;

-- ---------------------------------------------------------------- rights
-- A member who is not an org admin sees the organization: 42501.
SET ROLE regress_pol_member;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, require_expiry => true)$$, :'org')) AS member;
RESET ROLE;
-- An admin of another organization does not see it: the error of an unknown
-- organization, the same as for a uuid that names none.
SET ROLE regress_pol_outsider;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, require_expiry => true)$$, :'org')) AS outsider;
SELECT public.regress_try($$SELECT insight.set_org_policy('00000000-0000-0000-0000-000000000001', require_expiry => true)$$) AS outsider_unknown;
RESET ROLE;
SET ROLE regress_nobody;
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, require_expiry => true)$$, :'org')) AS nobody;
RESET ROLE;
-- An API key never sets a policy, not even an organization key of that
-- organization (it holds org_admin rights there).
SELECT valid FROM insight.authenticate(:'org_key', 'session');
SELECT kind FROM insight.whoami();
SELECT public.regress_try(format($$SELECT insight.set_org_policy(%L, require_expiry => true)$$, :'org')) AS org_key;
SELECT insight.reset_principal();
-- Platform-wide callers: an unknown organization is P0002.
SET ROLE regress_pol_platform;
SELECT public.regress_try($$SELECT insight.set_org_policy('00000000-0000-0000-0000-000000000001')$$) AS platform_unknown;
RESET ROLE;
SELECT public.regress_try($$SELECT insight.set_org_policy('00000000-0000-0000-0000-000000000001')$$) AS operator_unknown;
SELECT * FROM public.regress_pol_state;

-- ---------------------------------------------------------------- set by an org admin
SET ROLE regress_pol_admin;
SELECT insight.set_org_policy(:'org', require_expiry => true, revoke_unused_after => '90 days');
SELECT max_key_lifetime, require_expiry, revoke_unused_after, notify_before,
       updated_by = :'admin_id' AS by_admin
  FROM insight.org_policies WHERE org_id = :'org';
-- require_expiry: no expiry is 22023 and creates nothing.
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'no expiry')$$, :'org')) AS no_expiry;
SELECT public.regress_try(format($$SELECT insight.generate_org_key(%L, 'no expiry')$$, :'org')) AS org_no_expiry;
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'with expiry', now() + interval '400 days')$$, :'org')) AS with_expiry;
RESET ROLE;
SELECT * FROM public.regress_pol_state;
-- The policy is visible to the organization's members, not to others.
SET ROLE regress_pol_member;
SELECT count(*) AS member_sees FROM insight.org_policies;
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'member no expiry')$$, :'org')) AS member_no_expiry;
RESET ROLE;
SET ROLE regress_pol_outsider;
SELECT count(*) AS outsider_sees FROM insight.org_policies;
RESET ROLE;

-- The whole policy is replaced: require_expiry is off again, the lifetime on.
SET ROLE regress_pol_platform;
SELECT insight.set_org_policy(:'org', max_key_lifetime => '30 days', notify_before => NULL);
RESET ROLE;
SELECT max_key_lifetime, require_expiry, revoke_unused_after, notify_before,
       updated_by = :'platform_id' AS by_platform
  FROM insight.org_policies WHERE org_id = :'org';
SELECT actor_kind, actor_user_id = :'platform_id' AS by_platform, org_id = :'org' AS org, detail
  FROM insight.audit WHERE action = 'organization.policy_set' ORDER BY id;
SET ROLE regress_pol_admin;
-- max_key_lifetime: an expiry later than now() + 30 days is 22023.
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'too late', now() + interval '30 days 1 second')$$, :'org')) AS too_late;
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'in time', now() + interval '30 days')$$, :'org')) AS in_time;
-- Without require_expiry a key may have no expiry: the lifetime bounds it.
SELECT public.regress_try(format($$SELECT insight.generate_user_key(%L, 'bounded')$$, :'org')) AS no_expiry_bounded;
RESET ROLE;
SELECT name, expires_at = created_at + interval '30 days' AS effective_is_lifetime
  FROM insight.keys WHERE org_id = :'org' AND name = 'bounded';
SELECT * FROM public.regress_pol_state;

-- ---------------------------------------------------------------- effective expiry
-- A key without expiry and one with a stored expiry in 10 days, verified
-- (and so cached) before any policy exists.
SELECT key_id AS k1_id, api_key AS k1 FROM insight.generate_org_key(:'life', 'never expires') \gset
SELECT key_id AS k2_id, api_key AS k2 FROM insight.generate_org_key(:'life', 'ten days', now() + interval '10 days') \gset
SELECT xmin::text AS k1_xmin FROM insight.api_keys WHERE id = :'k1_id' \gset
SELECT code, expires_at IS NULL AS no_expiry FROM insight.verify(:'k1');
SELECT code FROM insight.verify(:'k2');
-- Tightened: both blocked at once, in this backend's cache too.
SELECT insight.set_org_policy(:'life', max_key_lifetime => '1 microsecond');
SELECT v.code, v.valid, v.expires_at = k.created_at + interval '1 microsecond' AS effective
  FROM insight.verify(:'k1') v, insight.api_keys k WHERE k.id = :'k1_id';
SELECT code FROM insight.verify(:'k2');
SELECT public.regress_try(format($$SELECT insight.authenticate(%L)$$, :'k1')) AS authenticate_expired;
SELECT name, expires_at = created_at + interval '1 microsecond' AS effective
  FROM insight.keys WHERE org_id = :'life' ORDER BY name;
-- Blocked, not deleted, not rewritten.
SELECT count(*) AS rows_kept, bool_and(xmin::text = :'k1_xmin' OR id <> :'k1_id') AS k1_untouched,
       count(*) FILTER (WHERE expires_at IS NULL) AS stored_without_expiry
  FROM insight.api_keys WHERE org_id = :'life';
-- Loosened: VALID again; the stored expiry wins when it is the earlier.
SELECT insight.set_org_policy(:'life', max_key_lifetime => '30 days');
SELECT v.code, v.expires_at = k.created_at + interval '30 days' AS effective
  FROM insight.verify(:'k1') v, insight.api_keys k WHERE k.id = :'k1_id';
SELECT v.code, v.expires_at = k.expires_at AS stored
  FROM insight.verify(:'k2') v, insight.api_keys k WHERE k.id = :'k2_id';
SELECT valid, code, expires_at IS NOT NULL AS has_expiry FROM insight.authenticate(:'k1');
SELECT insight.reset_principal();
SELECT name, expires_at = created_at + interval '30 days' AS lifetime,
       expires_at = (SELECT expires_at FROM insight.api_keys WHERE id = k.key_id) AS stored
  FROM insight.keys k WHERE org_id = :'life' ORDER BY name;
-- No policy limit: the stored expiry alone.
SELECT insight.set_org_policy(:'life');
SELECT code, expires_at IS NULL AS no_expiry FROM insight.verify(:'k1');
SELECT name, expires_at IS NULL AS no_expiry FROM insight.keys WHERE org_id = :'life' ORDER BY name;
-- Deleting the organization takes its policy with it.
SELECT insight.delete_organization(:'life');
SELECT count(*) AS life_policies FROM insight.org_policies_t WHERE org_id = :'life';
SELECT public.regress_drain();

DROP VIEW public.regress_pol_state;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_pol_admin, regress_pol_member, regress_pol_outsider, regress_pol_platform;
DROP ROLE regress_pol_admin, regress_pol_member, regress_pol_outsider, regress_pol_platform;
RESET client_min_messages;
