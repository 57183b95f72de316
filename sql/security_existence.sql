-- security_existence: what a principal may not see behaves exactly like what
-- does not exist (docs/SECURITY.md, "Existence oracles"). verify with a wrong
-- secret for an existing lookup id leaves the same answer and the same cache
-- counters as an unknown lookup id, whether the key is cached or not;
-- revoke_key and generate_* answer a foreign key or organization with the
-- SQLSTATE and message of an unknown one; an org admin reads neither the
-- platform-admin flag nor the db_role of its members and cannot add a
-- platform admin (docs/SECURITY.md, "What an org admin learns about its
-- members").
-- Runs in its own database so that nothing else moves the counters.
\set own_db regress_exist_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE ROLE regress_exist_member NOLOGIN;
CREATE ROLE regress_exist_admin NOLOGIN;
SELECT insight.create_organization('exist-own') AS own \gset
SELECT insight.create_organization('exist-foreign') AS foreign_org \gset
SELECT insight.create_user('exist-member@example.com', db_role => 'regress_exist_member') AS member \gset
SELECT insight.create_user('exist-admin@example.com', db_role => 'regress_exist_admin') AS admin \gset
SELECT insight.set_membership(:'member', :'own', 'read_write');
SELECT insight.set_membership(:'admin', :'own', 'org_admin');
SELECT key_id AS foreign_key FROM insight.generate_org_key(:'foreign_org', 'foreign') \gset
SET ROLE regress_exist_member;
SELECT api_key AS member_key FROM insight.generate_user_key(:'own', 'mine') \gset
RESET ROLE;

\ir sql/fixtures/checksum.sql
-- the member's lookup id with another secret, and a lookup id nobody has
SELECT regress_with_checksum(left(:'member_key', 25) || repeat('Z', 43)) AS wrong_secret,
       regress_with_checksum('ik_user_' || repeat('Q', 16) || '_' || repeat('Z', 43)) AS unknown_lookup
\gset
-- How verifying `key` n times moves this backend's cache counters.
CREATE FUNCTION pg_temp.cache_trace(key text, n int,
    OUT codes text, OUT entries bigint, OUT hits bigint, OUT misses bigint, OUT evictions bigint)
LANGUAGE plpgsql AS $f$
DECLARE
  before record;
  after record;
  code text;
BEGIN
  SELECT * INTO before FROM insight.verify_cache_status();
  FOR i IN 1 .. n LOOP
    SELECT v.code INTO code FROM insight.verify(key) v;
    codes := concat_ws(',', codes, code);
  END LOOP;
  SELECT * INTO after FROM insight.verify_cache_status();
  entries := after.entries - before.entries;
  hits := after.hits - before.hits;
  misses := after.misses - before.misses;
  evictions := after.evictions - before.evictions;
END
$f$;

SET insight.verify_cache_size = 64;
-- The key not cached: a wrong secret and an unknown lookup id leave the same trace.
SELECT 'wrong secret' AS probe, * FROM pg_temp.cache_trace(:'wrong_secret', 3)
UNION ALL
SELECT 'unknown lookup id', * FROM pg_temp.cache_trace(:'unknown_lookup', 3);
-- The key cached by a real verification: still the same trace.
SELECT 'real key' AS probe, * FROM pg_temp.cache_trace(:'member_key', 1);
SELECT 'wrong secret' AS probe, * FROM pg_temp.cache_trace(:'wrong_secret', 3)
UNION ALL
SELECT 'unknown lookup id', * FROM pg_temp.cache_trace(:'unknown_lookup', 3);
-- and the real key is still served from the cache
SELECT 'real key' AS probe, * FROM pg_temp.cache_trace(:'member_key', 1);
RESET insight.verify_cache_size;

-- ---------------------------------------------------------------- foreign = unknown
\ir sql/fixtures/regress_try.sql
\set unknown_id '00000000-0000-4000-8000-00000000abcd'
SET ROLE regress_exist_member;
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'foreign_key')) AS revoke_foreign,
       regress_try(format('SELECT insight.revoke_key(%L)', :'unknown_id')) AS revoke_unknown;
SELECT regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'foreign_org', 'x')) AS user_key_foreign,
       regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'unknown_id', 'x')) AS user_key_unknown;
RESET ROLE;
SET ROLE regress_exist_admin;
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'foreign_key')) AS revoke_foreign,
       regress_try(format('SELECT insight.revoke_key(%L)', :'unknown_id')) AS revoke_unknown;
SELECT regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'foreign_org', 'x')) AS org_key_foreign,
       regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'unknown_id', 'x')) AS org_key_unknown;
RESET ROLE;

-- ---------------------------------------------------------------- what membership reveals
-- By uuid an org admin adds any user but a platform admin (whose uuid it can
-- find in created_by); a platform admin's uuid answers exactly like one that
-- does not exist, and nothing changes.
CREATE ROLE regress_exist_padmin NOLOGIN;
SELECT insight.create_user('exist-padmin@example.com', 'Pat', true, 'regress_exist_padmin') AS padmin \gset
SELECT insight.create_user('exist-outsider@example.com', 'Otto') AS outsider \gset
SET ROLE regress_exist_admin;
SELECT regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'padmin', :'own', 'read_only')) AS add_platform_admin,
       regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'unknown_id', :'own', 'read_only')) AS add_unknown;
SELECT regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'outsider', :'own', 'read_write')) AS add_outsider,
       regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'member', :'own', 'read_only')) AS change_member;
-- what the org admin reads of its members: id, email, display name, role ...
SELECT u.id = :'outsider' AS is_outsider, u.email, u.display_name, m.role
  FROM insight.users u JOIN insight.memberships m ON m.user_id = u.id AND m.org_id = :'own'
 ORDER BY u.email;
-- ... never the platform-admin flag or the db_role, of anyone
SELECT regress_try('SELECT is_platform_admin FROM insight.users') AS platform_admin_flag,
       regress_try('SELECT db_role FROM insight.users') AS db_role;
SELECT email, is_platform_admin, db_role FROM insight.user_accounts ORDER BY email;
RESET ROLE;
-- a platform admin whom a platform-wide principal made a member is a member:
-- its role is the org admin's to change, and it shows only like any member
SELECT insight.set_membership(:'padmin', :'own', 'read_only');
SET ROLE regress_exist_admin;
SELECT regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'padmin', :'own', 'read_write')) AS change_platform_admin_member;
SELECT u.email, u.display_name, m.role
  FROM insight.users u JOIN insight.memberships m ON m.user_id = u.id AND m.org_id = :'own'
 WHERE u.id = :'padmin';
RESET ROLE;
-- a member reads its own account, nobody else's
SET ROLE regress_exist_member;
SELECT email, is_platform_admin, db_role FROM insight.user_accounts ORDER BY email;
RESET ROLE;
-- a platform admin reads every account, and adds by uuid as before
SET ROLE regress_exist_padmin;
SELECT email, display_name, is_platform_admin, db_role FROM insight.user_accounts ORDER BY email;
SELECT regress_try(format('SELECT insight.set_membership(%L, %L, %L)', :'unknown_id', :'own', 'read_only')) AS padmin_adds_unknown;
RESET ROLE;
SELECT u.email, m.role FROM insight.memberships m JOIN insight.users u ON u.id = m.user_id
 WHERE m.org_id = :'own' ORDER BY u.email;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_exist_member, regress_exist_admin, regress_exist_padmin;
