-- The stored hash cross-checked against pgcrypto (docs/KEY_FORMAT.md): secret_hash is
-- SHA-256 of the whole key text, reproducible by digest(); nothing stored
-- lets the key be recovered.
CREATE ROLE regress_hash_admin NOLOGIN;
SELECT insight.create_organization('hash-org') AS org \gset
SELECT insight.create_user('hash-admin@example.com', db_role => 'regress_hash_admin') AS admin_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SET ROLE regress_hash_admin;
SELECT key_id AS uk_id, api_key AS uk FROM insight.generate_user_key(:'org', 'hash user key') \gset
SELECT key_id AS ok_id, api_key AS ok FROM insight.generate_org_key(:'org', 'hash org key') \gset
CREATE TEMP TABLE hash_many AS
  SELECT k.key_id, k.api_key FROM generate_series(1, 20) g,
         LATERAL insight.generate_user_key(:'org', 'hash bulk ' || g) k;
RESET ROLE;

-- As a superuser (the only reader of secret_hash besides the extension).
SELECT k.kind, k.name,
       k.secret_hash = digest(:'uk', 'sha256') AS user_hash_is_sha256_of_key,
       length(k.secret_hash) AS hash_bytes
  FROM insight.api_keys k WHERE k.id = :'uk_id';
SELECT k.kind, k.name,
       k.secret_hash = digest(:'ok', 'sha256') AS org_hash_is_sha256_of_key,
       length(k.secret_hash) AS hash_bytes
  FROM insight.api_keys k WHERE k.id = :'ok_id';
SELECT count(*) AS keys, count(*) FILTER (WHERE k.secret_hash = digest(h.api_key, 'sha256')) AS matching
  FROM hash_many h JOIN insight.api_keys k ON k.id = h.key_id;
-- The hash covers the whole key text: not the secret part alone, not another key.
SELECT k.secret_hash = digest(substr(:'uk', 26, 43), 'sha256') AS hash_of_secret_only,
       k.secret_hash = digest(:'ok', 'sha256') AS hash_of_other_key,
       k.secret_hash = digest(upper(:'uk'), 'sha256') AS hash_of_altered_key
  FROM insight.api_keys k WHERE k.id = :'uk_id';
-- The lookup id stored is the public part of the key; nothing stored is the key.
SELECT k.lookup_id = split_part(:'uk', '_', 3) AS lookup_id_from_key,
       position(substr(:'uk', 26, 43) IN k::text) = 0 AS secret_not_in_row,
       position(encode(convert_to(:'uk', 'UTF8'), 'hex') IN k::text) = 0 AS key_hex_not_in_row
  FROM insight.api_keys k WHERE k.id = :'uk_id';
-- Every hash is distinct.
SELECT count(DISTINCT secret_hash) = count(*) AS hashes_distinct FROM insight.api_keys;
-- The cross-check holds as the extension sees it: verify() finds exactly the
-- rows whose hash matches.
SELECT count(*) FILTER (WHERE v.code = 'VALID') AS valid_keys
  FROM hash_many h, LATERAL insight.verify(h.api_key) v;
DROP TABLE hash_many;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_hash_admin;
DROP ROLE regress_hash_admin;
RESET client_min_messages;
