-- leaked_keys: insight.report_leaked(api_key, source). Anyone, including
-- nobody, who holds a key's full text may have it revoked: true for a key that
-- still exists in any state, false for everything else, never an error for
-- bad input; audited as key.revoked with reason leaked and the (bounded,
-- redacted) source. Runs in its own database.
\set own_db regress_leaked_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

CREATE FUNCTION public.leak_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END
$f$;

-- To forge a key of the right shape with a wrong secret.
\ir sql/fixtures/checksum.sql

CREATE ROLE regress_leak_admin NOLOGIN;
CREATE ROLE regress_leak_member NOLOGIN;
CREATE ROLE regress_leak_nobody NOLOGIN;
SELECT insight.create_organization('leak-org') AS org \gset
SELECT insight.create_user('leak-admin@example.com', db_role => 'regress_leak_admin') AS admin_id \gset
SELECT insight.create_user('leak-member@example.com', db_role => 'regress_leak_member') AS member_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');

SET ROLE regress_leak_member;
SELECT key_id AS uk_id, api_key AS uk FROM insight.generate_user_key(:'org', 'member key') \gset
SELECT key_id AS expired_id, api_key AS expired FROM insight.generate_user_key(:'org', 'expired', '2000-01-01 00:00:00+00') \gset
SELECT key_id AS orphan_id, api_key AS orphan FROM insight.generate_user_key(:'org', 'orphan') \gset
SELECT key_id AS ro_id, api_key AS ro FROM insight.generate_user_key(:'org', 'read-only attempt') \gset
RESET ROLE;
SET ROLE regress_leak_admin;
SELECT key_id AS ok_id, api_key AS ok FROM insight.generate_org_key(:'org', 'org key') \gset
RESET ROLE;

-- Everyone may call it: PUBLIC holds EXECUTE, and a role with no mapping is nobody.
SELECT has_function_privilege('regress_leak_nobody', 'insight.report_leaked(text, text)', 'EXECUTE') AS nobody_may_call;
-- Bad input: false, never an error, nothing written.
SELECT count(*) AS audit_rows_before FROM insight.audit_log \gset
SET ROLE regress_leak_nobody;
SELECT kind FROM insight.whoami();
SELECT insight.report_leaked(NULL) AS null_key,
       insight.report_leaked(NULL, NULL) AS null_both,
       insight.report_leaked('') AS empty,
       insight.report_leaked('not a key at all') AS garbage,
       insight.report_leaked(repeat('x', 10000000)) AS huge,
       insight.report_leaked(repeat(:'uk', 1000)) AS repeated_key,
       insight.report_leaked(E'ik_user_\x01\x02\x7f' || repeat(E'\x1b', 60)) AS binary_looking,
       insight.report_leaked(left(:'uk', 40)) AS truncated,
       insight.report_leaked(:'uk' || ' ') AS trailing_space,
       insight.report_leaked(upper(:'uk')) AS upper_case;
-- Right shape and checksum, right lookup id, wrong secret: false.
SELECT insight.report_leaked(regress_with_checksum(left(:'uk', 25) || repeat('A', 43))) AS wrong_secret;
SELECT regress_with_checksum(left(:'uk', 68)) = :'uk' AS checksum_reproduced;
-- A user key's text under the organization prefix is not that key.
SELECT insight.report_leaked(regress_with_checksum('ik_org_' || substr(:'uk', 9, 60))) AS wrong_kind;
RESET ROLE;
SELECT count(*) - :audit_rows_before AS audit_rows_written FROM insight.audit_log;
SELECT code FROM insight.verify(:'uk');

-- A read-only transaction (as on a hot standby): the read-only error, whatever
-- the text, and the key unchanged.
BEGIN READ ONLY;
SELECT leak_try(format('SELECT insight.report_leaked(%L)', :'ro')) AS live_key_read_only,
       leak_try('SELECT insight.report_leaked(''garbage'')') AS garbage_read_only;
COMMIT;
SELECT code FROM insight.verify(:'ro');

-- Rolled back: nothing changed.
BEGIN;
SET LOCAL ROLE regress_leak_nobody;
SELECT insight.report_leaked(:'uk', 'rolled back') AS reported;
ROLLBACK;
SELECT code FROM insight.verify(:'uk');

-- A valid user key, reported by nobody with a source that quotes the key and
-- is long: true; the key is gone; a second report is false.
SET ROLE regress_leak_nobody;
SELECT insight.report_leaked(:'uk', 'https://example.com/paste/1 line 3: API_KEY=' || :'uk' || ' ' || repeat('é', 300)) AS valid_key;
SELECT code FROM insight.verify(:'uk');
SELECT insight.report_leaked(:'uk', 'again') AS second_report;
RESET ROLE;
SELECT count(*) AS rows_left FROM insight.api_keys WHERE id = :'uk_id';

-- A valid organization key, no source.
SELECT insight.report_leaked(:'ok') AS org_key;
SELECT code FROM insight.verify(:'ok');

-- An expired key.
SELECT code FROM insight.verify(:'expired');
SELECT insight.report_leaked(:'expired', 'scanner') AS expired_key;
SELECT count(*) AS rows_left FROM insight.api_keys WHERE id = :'expired_id';

-- A key whose owner was removed from the organization (before the cascade).
BEGIN;
SELECT insight.remove_membership(:'member_id', :'org');
SELECT code FROM insight.verify(:'orphan');
SELECT insight.report_leaked(:'orphan', 'scanner') AS owner_removed;
SELECT code FROM insight.verify(:'orphan');
COMMIT;
SELECT count(*) AS rows_left FROM insight.api_keys WHERE id = :'orphan_id';

-- The audit: key.revoked, reason leaked, the source bounded and redacted, the
-- actor the caller (nobody for the first, the operator for the others).
SELECT actor_kind, actor_db_role, action,
       CASE key_id WHEN :'uk_id' THEN 'uk' WHEN :'ok_id' THEN 'ok' WHEN :'expired_id' THEN 'expired'
                   WHEN :'orphan_id' THEN 'orphan' END AS which,
       detail->>'kind' AS kind, detail->>'name' AS name, detail->>'reason' AS reason,
       detail ? 'source' AS has_source
  FROM insight.audit WHERE action = 'key.revoked' ORDER BY id;
SELECT regexp_replace(left(detail->>'source', 70), 'ik_user_\w{0,4}', 'ik_user_<hint>') AS source_start,
       strpos(detail->>'source', :'uk') = 0 AS key_not_in_source,
       strpos(detail->>'source', substr(:'uk', 26, 43)) = 0 AS secret_not_in_source,
       octet_length(detail->>'source') <= 200 AS bounded,
       octet_length(detail->>'source') >= 190 AS clipped_near_bound
  FROM insight.audit WHERE action = 'key.revoked' AND key_id = :'uk_id';
-- No key text anywhere in the audit.
SELECT count(*) AS audit_rows_with_key FROM insight.audit_log a
 WHERE strpos(a::text, substr(:'uk', 26, 43)) > 0 OR strpos(a::text, substr(:'ok', 25, 43)) > 0
    OR strpos(a::text, substr(:'expired', 26, 43)) > 0 OR strpos(a::text, substr(:'orphan', 26, 43)) > 0;

\ir sql/fixtures/own_database_end.sql
DROP ROLE regress_leak_admin, regress_leak_member, regress_leak_nobody;
