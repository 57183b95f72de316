-- rotate_key(key_id, grace): who may rotate which key, every error and that
-- it changes nothing, the grace and its cap, grace 0, rollback, the audit,
-- the verify cache, and the worker's purge after the grace.
-- Fixture: organizations O and P with owner, admin, mate and stranger
-- (sql/fixtures/key_people.sql), and pa, a platform admin.
\set pfx rot
\ir sql/fixtures/key_people.sql
CREATE ROLE regress_rot_pa NOLOGIN;
SELECT insight.create_user('rot-pa@example.com', platform_admin => true, db_role => 'regress_rot_pa') AS pa_id \gset

-- The keys by label, the snapshot and the tries: 00_setup.
TRUNCATE regress_keys;

SET ROLE regress_rot_owner;
INSERT INTO regress_keys SELECT 'u1', * FROM insight.generate_user_key(:'o', 'owner key');
INSERT INTO regress_keys SELECT 'u2', * FROM insight.generate_user_key(:'o', 'owner key 2');
INSERT INTO regress_keys SELECT 'u3', * FROM insight.generate_user_key(:'o', 'owner key 3');
INSERT INTO regress_keys SELECT 'hour', * FROM insight.generate_user_key(:'o', 'one hour', now() + interval '1 hour');
SET ROLE regress_rot_admin;
INSERT INTO regress_keys SELECT 'org', * FROM insight.generate_org_key(:'o', 'org key');
INSERT INTO regress_keys SELECT 'adminkey', * FROM insight.generate_user_key(:'o', 'admin key');
SET ROLE regress_rot_stranger;
INSERT INTO regress_keys SELECT 'porg', * FROM insight.generate_org_key(:'p', 'P org key');
RESET ROLE;
SELECT key_id AS u1 FROM regress_keys WHERE label = 'u1' \gset
SELECT key_id AS u2 FROM regress_keys WHERE label = 'u2' \gset
SELECT key_id AS u3 FROM regress_keys WHERE label = 'u3' \gset
SELECT key_id AS hour FROM regress_keys WHERE label = 'hour' \gset
SELECT key_id AS org FROM regress_keys WHERE label = 'org' \gset
SELECT key_id AS porg FROM regress_keys WHERE label = 'porg' \gset

-- The signature and the composite it returns.
SELECT pg_get_function_identity_arguments('insight.rotate_key'::regproc) AS args,
       pg_get_function_result('insight.rotate_key'::regproc) AS result;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'insight.new_key'::regclass AND attnum > 0 ORDER BY attnum;

-- ---- refusals: each changes nothing
SELECT regress_keys_snapshot() AS snap \gset
SELECT label, regress_try_as(who, stmt) AS outcome FROM (VALUES
  -- may not see the key: the error of an unknown key
  ('mate, owner''s key', 'regress_rot_mate', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 day')),
  ('stranger, O org key', 'regress_rot_stranger', format('SELECT insight.rotate_key(%L)', :'org')),
  ('owner, O org key', 'regress_rot_owner', format('SELECT insight.rotate_key(%L)', :'org')),
  ('unknown key', NULL, format('SELECT insight.rotate_key(%L)', gen_random_uuid())),
  ('unknown key, grace', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', gen_random_uuid(), '1 hour')),
  -- sees it but may not rotate it
  ('admin, owner''s key', 'regress_rot_admin', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 day')),
  ('platform admin, owner''s key', 'regress_rot_pa', format('SELECT insight.rotate_key(%L)', :'u1')),
  -- the grace
  ('negative grace', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '-1 second')),
  ('grace 7 days 1 us', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '7 days 00:00:00.000001')),
  ('grace 1 month', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 mon')),
  ('grace -1 day +23 h', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '-1 day +23:00')),
  ('grace null', 'regress_rot_owner', format('SELECT insight.rotate_key(%L, NULL)', :'u1')),
  ('key null', 'regress_rot_owner', 'SELECT insight.rotate_key(NULL)')
) t(label, who, stmt);
SELECT regress_keys_snapshot() = :'snap' AS unchanged;

-- An API key principal never rotates, not even itself (42501), and a key it
-- may not see is unknown to it (P0002).
SELECT regress_try_as_key('u2', format('SELECT insight.rotate_key(%L)', :'u2')) AS user_key_itself,
       regress_try_as_key('u2', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 hour')) AS user_key_other,
       regress_try_as_key('org', format('SELECT insight.rotate_key(%L)', :'org')) AS org_key_itself,
       regress_try_as_key('org', format('SELECT insight.rotate_key(%L)', :'u1')) AS org_key_user_key,
       regress_try_as_key('org', format('SELECT insight.rotate_key(%L)', :'porg')) AS org_key_foreign;
SELECT regress_keys_snapshot() = :'snap' AS unchanged;

-- ---- a rotation with a grace
BEGIN;
SET LOCAL ROLE regress_rot_owner;
CREATE TEMP TABLE rot_out ON COMMIT DROP AS SELECT * FROM insight.rotate_key(:'u1', '1 day');
RESET ROLE;
INSERT INTO regress_keys SELECT 'u1new', key_id, api_key FROM rot_out;
-- The old key's grace ends at now() + grace (the transaction's now()).
SELECT expires_at = now() + interval '1 day' AS old_until_grace_end,
       rotated_to = (SELECT key_id FROM rot_out) AS successor_recorded
  FROM insight.api_keys WHERE id = :'u1';
COMMIT;
SELECT key_id AS u1new FROM regress_keys WHERE label = 'u1new' \gset
-- Same kind, organization, owner, name and stored expiry; shown once (only
-- the hash is stored); a new secret.
SELECT n.kind = o.kind AS same_kind, n.org_id = o.org_id AS same_org,
       n.owner_id = o.owner_id AS same_owner, n.name = o.name AS same_name,
       n.expires_at IS NULL AS new_never_expires, n.secret_hash <> o.secret_hash AS new_secret,
       n.secret_hash = digest((SELECT api_key FROM regress_keys WHERE label = 'u1new'), 'sha256') AS hash_of_shown_key,
       n.rotated_to IS NULL AS new_not_rotated
  FROM insight.api_keys n, insight.api_keys o WHERE n.id = :'u1new' AND o.id = :'u1';
SELECT k.label, v.valid, v.code, v.kind, v.key_id = k.key_id AS own_id, v.user_id = :'owner_id' AS owner
  FROM regress_keys k, insight.verify(k.api_key) v WHERE k.label IN ('u1', 'u1new') ORDER BY k.label;
-- The audit links both keys (one event; no key.generated for the successor).
SELECT action, key_id = :'u1' AS old_key, detail->>'new_key_id' = :'u1new' AS new_key,
       detail->>'old_key_id' = :'u1' AS old_in_detail, actor_kind, actor_user_id = :'owner_id' AS by_owner,
       user_id = :'owner_id' AS user, org_id = :'o' AS org
  FROM insight.audit_log WHERE key_id IN (:'u1', :'u1new') AND action <> 'key.generated' ORDER BY id;
SELECT count(*) AS generated_events_for_successor FROM insight.audit_log
 WHERE key_id = :'u1new' AND action = 'key.generated';
-- The owner sees both in insight.keys.
SET ROLE regress_rot_owner;
SELECT name, expires_at IS NOT NULL AS expires FROM insight.keys WHERE key_id IN (:'u1', :'u1new') ORDER BY expires;
RESET ROLE;

-- At most one successor: a second rotation of the old key is 55000 and changes nothing.
SELECT regress_keys_snapshot() AS snap \gset
SELECT regress_try_as('regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u1', '1 hour')) AS again,
       regress_try_as('regress_rot_owner', format('SELECT insight.rotate_key(%L)', :'u1')) AS again_grace_0;
SELECT regress_keys_snapshot() = :'snap' AS unchanged;

-- Expired or disabled: 55000, nothing changed.
UPDATE insight.api_keys SET expires_at = now() - interval '1 hour' WHERE id = :'u3';
SELECT insight.disable_key(:'u2');
SELECT regress_keys_snapshot() AS snap \gset
SELECT regress_try_as('regress_rot_owner', format('SELECT insight.rotate_key(%L, %L)', :'u3', '1 hour')) AS expired,
       regress_try_as('regress_rot_owner', format('SELECT insight.rotate_key(%L)', :'u2')) AS disabled;
SELECT regress_keys_snapshot() = :'snap' AS unchanged;
SELECT insight.enable_key(:'u2');

-- ---- the grace is capped by the old key's own expiry
SELECT expires_at AS hour_expiry FROM insight.api_keys WHERE id = :'hour' \gset
SET ROLE regress_rot_owner;
INSERT INTO regress_keys SELECT 'hournew', * FROM insight.rotate_key(:'hour', '2 days');
RESET ROLE;
SELECT o.expires_at = :'hour_expiry'::timestamptz AS old_keeps_its_expiry,
       n.expires_at = :'hour_expiry'::timestamptz AS new_carries_it
  FROM insight.api_keys o, insight.api_keys n
 WHERE o.id = :'hour' AND n.id = (SELECT key_id FROM regress_keys WHERE label = 'hournew');

-- ---- grace 0: the old key is gone in the same transaction
-- A cached VALID answer for the old key first: the rotation must clear it.
SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u2'));
BEGIN;
SET LOCAL ROLE regress_rot_owner;
CREATE TEMP TABLE rot_out0 ON COMMIT DROP AS SELECT * FROM insight.rotate_key(:'u2');
RESET ROLE;
INSERT INTO regress_keys SELECT 'u2new', key_id, api_key FROM rot_out0;
SELECT (SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u2'))) AS old_in_txn,
       (SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u2new'))) AS new_in_txn,
       NOT EXISTS (SELECT 1 FROM insight.api_keys WHERE id = :'u2') AS old_row_gone;
COMMIT;
SELECT action, detail->>'reason' AS reason, (detail->>'old_key_revoked')::boolean AS revoked,
       detail->>'new_key_id' = (SELECT key_id::text FROM regress_keys WHERE label = 'u2new') AS links_new
  FROM insight.audit_log WHERE key_id = :'u2' AND action IN ('key.rotated', 'key.revoked') ORDER BY id;
SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u2'));

-- ---- rolled back: nothing changed
SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u1new'));
SELECT regress_keys_snapshot() AS snap \gset
BEGIN;
SET LOCAL ROLE regress_rot_owner;
CREATE TEMP TABLE rot_rb ON COMMIT DROP AS SELECT * FROM insight.rotate_key(:'u1new', '1 hour');
RESET ROLE;
INSERT INTO regress_keys SELECT 'rolledback', key_id, api_key FROM rot_rb;
SELECT (SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'rolledback'))) AS new_in_txn;
ROLLBACK;
SELECT regress_keys_snapshot() = :'snap' AS unchanged,
       (SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'u1new'))) AS old_still,
       (SELECT expires_at IS NULL FROM insight.api_keys WHERE id = :'u1new') AS old_expiry_untouched;

-- ---- organization keys: an admin of the organization, a platform admin, the operator
SET ROLE regress_rot_admin;
INSERT INTO regress_keys SELECT 'org2', * FROM insight.rotate_key(:'org', '1 hour');
RESET ROLE;
SELECT key_id AS org2 FROM regress_keys WHERE label = 'org2' \gset
SET ROLE regress_rot_pa;
INSERT INTO regress_keys SELECT 'org3', * FROM insight.rotate_key(:'org2', '1 hour');
RESET ROLE;
SELECT key_id AS org3 FROM regress_keys WHERE label = 'org3' \gset
INSERT INTO regress_keys SELECT 'org4', * FROM insight.rotate_key(:'org3');
SELECT r.label, k.kind, k.org_id = :'o' AS org, k.name, k.created_by = :'admin_id' AS by_admin,
       k.created_by = :'pa_id' AS by_pa, k.created_by IS NULL AS by_operator,
       (SELECT v.code FROM insight.verify(r.api_key) v) AS code
  FROM regress_keys r JOIN insight.api_keys k ON k.id = r.key_id
 WHERE r.label LIKE 'org_' ORDER BY r.label;
SELECT (SELECT rotated_to FROM insight.api_keys WHERE id = :'org') = :'org2' AS chain_1,
       (SELECT rotated_to FROM insight.api_keys WHERE id = :'org2') = :'org3' AS chain_2,
       NOT EXISTS (SELECT 1 FROM insight.api_keys WHERE id = :'org3') AS grace_0_revoked;
-- The platform admin rotates a user key of its own.
SET ROLE regress_rot_pa;
SELECT insight.rotate_key(key_id, '1 minute') IS NOT NULL AS rotated
  FROM insight.generate_user_key(:'p', 'pa key');
RESET ROLE;

-- ---- the grace ends: EXPIRED at once on a cached entry, then NOT_FOUND when the worker removed it
SET ROLE regress_rot_owner;
INSERT INTO regress_keys SELECT 'short', * FROM insight.generate_user_key(:'o', 'short grace');
RESET ROLE;
SELECT key_id AS short FROM regress_keys WHERE label = 'short' \gset
SELECT code FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'short'));
SET ROLE regress_rot_owner;
SELECT insight.rotate_key(:'short', '0.2 seconds') IS NOT NULL AS rotated;
RESET ROLE;
CREATE FUNCTION public.rot_wait_code(label text, want text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '90 seconds';
  got text;
BEGIN
  LOOP
    SELECT code INTO got FROM insight.verify((SELECT api_key FROM public.regress_keys k WHERE k.label = rot_wait_code.label));
    IF got = want OR clock_timestamp() > deadline THEN RETURN got; END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$f$;
-- Valid until the grace's end, then EXPIRED (verify compares with the clock).
SELECT rot_wait_code('short', 'EXPIRED') AS after_grace;
SELECT (v.expires_at <= clock_timestamp()) AS expiry_passed
  FROM insight.verify((SELECT api_key FROM regress_keys WHERE label = 'short')) v;
-- The worker deletes it (insight.cascade_naptime) and records why.
SELECT rot_wait_code('short', 'NOT_FOUND') AS after_purge;
SELECT action, actor_kind, detail->>'reason' AS reason,
       detail->>'new_key_id' IS NOT NULL AS names_successor
  FROM insight.audit_log WHERE key_id = :'short' AND action = 'key.revoked';
-- Its successor is untouched.
SELECT count(*) AS successor_left FROM insight.api_keys k
 WHERE k.owner_id = :'owner_id' AND k.name = 'short grace';

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_rot_owner, regress_rot_admin, regress_rot_mate, regress_rot_pa, regress_rot_stranger;
DROP ROLE regress_rot_owner, regress_rot_admin, regress_rot_mate, regress_rot_pa, regress_rot_stranger;
RESET client_min_messages;
