-- Every verify() code (README "SQL interface"): VALID, MALFORMED, NOT_FOUND, EXPIRED,
-- OWNER_INACTIVE; verify never raises, never writes, and is callable by anyone.
CREATE ROLE regress_vfy_admin NOLOGIN;
CREATE ROLE regress_vfy_member NOLOGIN;
CREATE ROLE regress_vfy_gone NOLOGIN;
CREATE ROLE regress_vfy_leaver NOLOGIN;
CREATE ROLE regress_vfy_platform NOLOGIN;
SELECT insight.create_organization('vfy-org') AS org \gset
SELECT insight.create_organization('vfy-doomed') AS doomed \gset
SELECT insight.create_user('vfy-admin@example.com', db_role => 'regress_vfy_admin') AS admin_id \gset
SELECT insight.create_user('vfy-member@example.com', db_role => 'regress_vfy_member') AS member_id \gset
SELECT insight.create_user('vfy-gone@example.com', db_role => 'regress_vfy_gone') AS gone_id \gset
SELECT insight.create_user('vfy-leaver@example.com', db_role => 'regress_vfy_leaver') AS leaver_id \gset
SELECT insight.create_user('vfy-platform@example.com', platform_admin => true, db_role => 'regress_vfy_platform') AS platform_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SELECT insight.set_membership(:'admin_id', :'doomed', 'org_admin');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');
SELECT insight.set_membership(:'member_id', :'doomed', 'read_write');
SELECT insight.set_membership(:'gone_id', :'org', 'org_admin');
SELECT insight.set_membership(:'leaver_id', :'org', 'read_only');

\ir sql/fixtures/checksum.sql

-- Keys for the cases below.
SET ROLE regress_vfy_member;
SELECT key_id AS uk_id, api_key AS uk FROM insight.generate_user_key(:'org', 'member key') \gset
SELECT key_id AS uk_doomed_id, api_key AS uk_doomed FROM insight.generate_user_key(:'doomed', 'member key in doomed') \gset
SELECT key_id AS revoked_id, api_key AS revoked FROM insight.generate_user_key(:'org', 'to revoke') \gset
SELECT api_key AS expired FROM insight.generate_user_key(:'org', 'expired', '2000-01-01 00:00:00+00') \gset
SELECT api_key AS future FROM insight.generate_user_key(:'org', 'future', '2999-01-01 00:00:00+00') \gset
RESET ROLE;
SET ROLE regress_vfy_admin;
SELECT key_id AS ok_id, api_key AS ok FROM insight.generate_org_key(:'org', 'org key') \gset
SELECT api_key AS ok_doomed FROM insight.generate_org_key(:'doomed', 'org key in doomed') \gset
SELECT api_key AS ok_expired FROM insight.generate_org_key(:'org', 'org expired', now() - interval '1 second') \gset
RESET ROLE;
SET ROLE regress_vfy_gone;
SELECT api_key AS uk_gone FROM insight.generate_user_key(:'org', 'gone key') \gset
SELECT api_key AS ok_by_gone FROM insight.generate_org_key(:'org', 'org key by gone') \gset
RESET ROLE;
SET ROLE regress_vfy_leaver;
SELECT api_key AS uk_leaver FROM insight.generate_user_key(:'org', 'leaver key') \gset
RESET ROLE;
SET ROLE regress_vfy_platform;
SELECT api_key AS uk_platform FROM insight.generate_user_key(:'org', 'platform key, not a member') \gset
RESET ROLE;

-- The SQL checksum reproduces the stored keys' checksums.
SELECT regress_with_checksum(left(:'uk', 68)) = :'uk' AS user_checksum_matches,
       regress_with_checksum(left(:'ok', 67)) = :'ok' AS org_checksum_matches;

-- ---------------------------------------------------------------- VALID
SELECT 'user' AS key, valid, code, kind, role, key_id = :'uk_id' AS right_key,
       org_id = :'org' AS right_org, user_id = :'member_id' AS right_user, expires_at
  FROM insight.verify(:'uk')
UNION ALL
SELECT 'org', valid, code, kind, role, key_id = :'ok_id', org_id = :'org', user_id IS NULL, expires_at
  FROM insight.verify(:'ok');
SELECT valid, code, kind, role, expires_at = '2999-01-01 00:00:00+00' AS expiry FROM insight.verify(:'future');
-- A platform admin's user key in an organization they do not belong to.
SELECT valid, code, kind, role FROM insight.verify(:'uk_platform');
-- The role reported is the owner's current one.
SELECT insight.set_membership(:'member_id', :'org', 'read_only');
SELECT code, role FROM insight.verify(:'uk');
SELECT insight.set_membership(:'member_id', :'org', 'org_admin');
SELECT code, role FROM insight.verify(:'uk');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');
SELECT code, role FROM insight.verify(:'uk');

-- ---------------------------------------------------------------- MALFORMED
-- Every MALFORMED row has nothing but valid = false and the code.
SELECT label, valid, code, key_id IS NULL AND kind IS NULL AND org_id IS NULL AND user_id IS NULL
       AND role IS NULL AND expires_at IS NULL AS all_null
  FROM (VALUES
    ('null', NULL::text),
    ('empty', ''),
    ('space', ' '),
    ('prefix only', 'ik_user_'),
    ('wrong prefix', 'ik_usr_' || substr(:'uk', 8)),
    ('upper-case prefix', 'IK_USER_' || substr(:'uk', 9)),
    ('org prefix on a user key', 'ik_org_' || substr(:'uk', 9)),
    ('user prefix on an org key', 'ik_user_' || substr(:'ok', 8)),
    ('bad checksum', left(:'uk', 73) || CASE WHEN right(:'uk', 1) = 'A' THEN 'B' ELSE 'A' END),
    ('one character short', left(:'uk', 73)),
    ('one character long', :'uk' || 'A'),
    ('doubled', :'uk' || :'uk'),
    ('leading space', ' ' || :'uk'),
    ('trailing space', :'uk' || ' '),
    ('trailing newline', :'uk' || E'\n'),
    ('leading tab', E'\t' || left(:'uk', 73)),
    ('inner space', left(:'uk', 30) || ' ' || substr(:'uk', 32)),
    ('lower-cased', lower(:'uk')),
    ('missing separator', replace(:'uk', '_', '-')),
    ('bearer header', 'Bearer ' || :'uk'),
    ('non-ascii', left(:'uk', 73) || 'é'),
    ('injection', 'ik_user_''); DROP TABLE insight.api_keys; --'),
    ('format string', '%s%s%s%n%n%n'),
    ('1 MB', repeat('ik_user_', 131072))
  ) t(label, k), LATERAL insight.verify(k) v
 ORDER BY label COLLATE "C";
-- Every single-character change of a valid user key and org key is rejected
-- by the checksum/format, position by position.
SELECT t.which, count(*) AS positions, count(*) FILTER (WHERE v.code = 'MALFORMED') AS malformed
  FROM (VALUES ('user', :'uk'), ('org', :'ok')) t(which, k),
  LATERAL generate_series(1, length(k)) i,
  LATERAL insight.verify(overlay(k PLACING CASE WHEN substr(k, i, 1) = 'a' THEN 'b' ELSE 'a' END FROM i FOR 1)) v
 GROUP BY t.which ORDER BY t.which COLLATE "C";

-- ---------------------------------------------------------------- NOT_FOUND
-- Well formed, right checksum, unknown lookup id.
SELECT code, valid, key_id IS NULL AS no_key_id
  FROM insight.verify(regress_with_checksum('ik_user_0000000000000000_' || repeat('0', 43)));
-- Known lookup id, right checksum, wrong secret: same answer, no oracle.
SELECT code, valid, key_id IS NULL AS no_key_id
  FROM insight.verify(regress_with_checksum(left(:'uk', 25) || repeat('A', 43)));
SELECT code FROM insight.verify(regress_with_checksum(left(:'ok', 24) || repeat('z', 43)));
-- The same lookup id and secret under the other kind's prefix.
SELECT code FROM insight.verify(regress_with_checksum('ik_org_' || substr(:'uk', 9, 60)));
SELECT code FROM insight.verify(regress_with_checksum('ik_user_' || substr(:'ok', 8, 60)));
-- A revoked key.
SELECT code FROM insight.verify(:'revoked');
SET ROLE regress_vfy_member;
SELECT insight.revoke_key(:'revoked_id');
RESET ROLE;
SELECT code, valid, key_id IS NULL AS no_key_id FROM insight.verify(:'revoked');

-- ---------------------------------------------------------------- EXPIRED
SELECT valid, code, kind, role, user_id = :'member_id' AS right_user,
       expires_at = '2000-01-01 00:00:00+00' AS expiry
  FROM insight.verify(:'expired');
SELECT valid, code, kind, role FROM insight.verify(:'ok_expired');

-- ---------------------------------------------------------------- OWNER_INACTIVE
-- Checked in the deleting transaction itself and again after COMMIT (the
-- cascade may not have run yet), then NOT_FOUND once the cascade removed the key.
-- Owner deleted: their user key is inactive, the org key they made stays VALID.
BEGIN;
SELECT insight.delete_user(:'gone_id');
SELECT 'user key' AS key, valid, code, kind, role FROM insight.verify(:'uk_gone')
UNION ALL
SELECT 'org key', valid, code, kind, role FROM insight.verify(:'ok_by_gone');
COMMIT;
SELECT regress_drain();
SELECT 'user key' AS key, code FROM insight.verify(:'uk_gone')
UNION ALL
SELECT 'org key', code FROM insight.verify(:'ok_by_gone');
-- Membership removed.
BEGIN;
SELECT insight.remove_membership(:'leaver_id', :'org');
SELECT valid, code, kind, role, user_id = :'leaver_id' AS right_user FROM insight.verify(:'uk_leaver');
COMMIT;
SELECT regress_drain();
SELECT code FROM insight.verify(:'uk_leaver');
-- Platform admin flag removed from a non-member.
BEGIN;
SELECT insight.set_platform_admin(:'platform_id', false);
SELECT valid, code, role FROM insight.verify(:'uk_platform');
ROLLBACK;
SELECT code, role FROM insight.verify(:'uk_platform');
-- Organization deleted: both kinds of key are inactive, then gone.
BEGIN;
SELECT insight.delete_organization(:'doomed');
SELECT 'user key' AS key, valid, code, kind FROM insight.verify(:'uk_doomed')
UNION ALL
SELECT 'org key', valid, code, kind FROM insight.verify(:'ok_doomed');
COMMIT;
SELECT regress_drain();
SELECT 'user key' AS key, code FROM insight.verify(:'uk_doomed')
UNION ALL
SELECT 'org key', code FROM insight.verify(:'ok_doomed');
-- A DBA's direct DELETE has the same effect.
SET ROLE regress_vfy_member;
SELECT api_key AS uk2 FROM insight.generate_user_key(:'org', 'second member key') \gset
RESET ROLE;
BEGIN;
DELETE FROM insight.memberships WHERE user_id = :'member_id' AND org_id = :'org';
SELECT code FROM insight.verify(:'uk2');
ROLLBACK;
SELECT code FROM insight.verify(:'uk2');

-- ---------------------------------------------------------------- who may call it
-- Anyone, even a role that is nobody, and in a read-only transaction.
SET ROLE regress_nobody;
SELECT kind FROM insight.whoami();
SELECT code FROM insight.verify(:'uk')
UNION ALL SELECT code FROM insight.verify(:'ok')
UNION ALL SELECT code FROM insight.verify('nonsense');
RESET ROLE;
BEGIN READ ONLY;
SELECT code FROM insight.verify(:'uk')
UNION ALL SELECT code FROM insight.verify(:'expired');
COMMIT;
-- verify never writes on its path: no audit row for it.
SELECT count(*) AS audit_before FROM insight.audit_log \gset
SELECT count(*) FROM insight.verify(:'uk') a, insight.verify(:'ok') b, insight.verify('x') c;
SELECT count(*) - :audit_before AS new_audit_rows FROM insight.audit_log;

DROP FUNCTION public.regress_with_checksum(text);
DROP FUNCTION public.regress_crc32(text);

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_vfy_admin, regress_vfy_member, regress_vfy_gone, regress_vfy_leaver, regress_vfy_platform;
DROP ROLE regress_vfy_admin, regress_vfy_member, regress_vfy_gone, regress_vfy_leaver, regress_vfy_platform;
RESET client_min_messages;
