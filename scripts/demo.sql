-- The walkthrough of `make demo`: the seed's flows, end to end.
\pset footer off
\set QUIET on
\echo '--- 1. As the operator (a superuser session): an organization, its admin, a user'
SELECT insight.create_organization('Acme') AS acme \gset
SELECT insight.create_user('ada@acme.example', 'Ada (org admin)') AS ada \gset
SELECT insight.create_user('bob@acme.example', 'Bob (read/write)') AS bob \gset
SELECT insight.set_membership(:'ada', :'acme', 'org_admin') \g /dev/null
SELECT insight.set_membership(:'bob', :'acme', 'read_write') \g /dev/null
SELECT email, display_name, role FROM insight.users u JOIN insight.memberships m ON m.user_id = u.id ORDER BY email;

\echo '--- 2. The web tier logs Ada in (act_as) and she generates an organization key, shown once'
BEGIN;
SELECT insight.act_as(:'ada') \g /dev/null
SELECT key_id AS org_key_id, api_key AS org_key FROM insight.generate_org_key(:'acme', 'CI pipeline') \gset
COMMIT;
\echo 'organization key:' :org_key

\echo '--- 3. Bob generates a user key for himself'
BEGIN;
SELECT insight.act_as(:'bob') \g /dev/null
SELECT key_id AS bob_key_id, api_key AS bob_key FROM insight.generate_user_key(:'acme', 'Bob laptop') \gset
\echo 'Bob sees only his own keys:'
SELECT kind, name, hint, owner_email FROM insight.keys ORDER BY name;
COMMIT;

\echo '--- 4. Ada sees every key of Acme'
BEGIN;
SELECT insight.act_as(:'ada') \g /dev/null
SELECT kind, name, hint, owner_email FROM insight.keys ORDER BY name;
COMMIT;

\echo '--- 5. An application verifies keys (no principal needed) and authenticates with one'
SELECT valid, code, kind, role FROM insight.verify(:'bob_key');
SELECT valid, code FROM insight.verify('ik_user_not-a-real-key');
BEGIN;
SELECT code, kind, role FROM insight.authenticate(:'org_key');
SELECT kind, via, role, scope FROM insight.whoami();
COMMIT;

\echo '--- 6. Only the hash is stored: SHA-256 of the key, cross-checked with pgcrypto'
SELECT secret_hash = digest(:'bob_key', 'sha256') AS stored_hash_matches FROM insight.api_keys WHERE id = :'bob_key_id';

\echo '--- 7. Deleting Bob: his user key stops at once, the worker removes it; the org key stays'
SELECT insight.delete_user(:'bob') \g /dev/null
SELECT code AS bob_key_right_after_delete FROM insight.verify(:'bob_key');
-- The worker starts within 100 ms of the commit; wait for it (at most 10 s).
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM insight.cascades WHERE state IN ('pending', 'running'));
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT event, state, keys_done FROM insight.cascades ORDER BY id;
SELECT code AS bob_key_after_cascade FROM insight.verify(:'bob_key');
SELECT code AS org_key_still FROM insight.verify(:'org_key');

\echo '--- 8. Ada revokes the organization key: permanent, at once'
BEGIN;
SELECT insight.act_as(:'ada') \g /dev/null
SELECT insight.revoke_key(:'org_key_id') \g /dev/null
COMMIT;
SELECT code AS org_key_after_revoke FROM insight.verify(:'org_key');

\echo '--- 9. The audit trail'
SELECT at::time(0) AS at, actor_kind, action, detail FROM insight.audit ORDER BY id;
