-- Key generation and the key format (docs/KEY_FORMAT.md): kind prefix, public lookup id,
-- 43 base62 characters of secret (256 bits), 6 base62 checksum digits; the
-- alphabet is URL-, header- and shell-safe; two keys never repeat; the hint
-- identifies a key without revealing its secret; names are validated.
CREATE ROLE regress_fmt_admin NOLOGIN;
CREATE ROLE regress_fmt_member NOLOGIN;
SELECT insight.create_organization('fmt-org') AS org \gset
SELECT insight.create_user('fmt-admin@example.com', 'Format Admin', db_role => 'regress_fmt_admin') AS admin_id \gset
SELECT insight.create_user('fmt-member@example.com', db_role => 'regress_fmt_member') AS member_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');

-- A user key, twice, and an organization key, as the mapped member / admin.
SET ROLE regress_fmt_member;
SELECT key_id AS uk1_id, api_key AS uk1 FROM insight.generate_user_key(:'org', 'first') \gset
SELECT key_id AS uk2_id, api_key AS uk2 FROM insight.generate_user_key(:'org', 'second') \gset
RESET ROLE;
SET ROLE regress_fmt_admin;
SELECT key_id AS ok1_id, api_key AS ok1 FROM insight.generate_org_key(:'org', 'service') \gset
RESET ROLE;

-- Result shape: exactly one row of (key_id uuid, api_key text).
SET ROLE regress_fmt_member;
SELECT count(*) AS rows, pg_typeof(min(key_id::text)::uuid) AS key_id_type,
       pg_typeof(min(api_key)) AS api_key_type
  FROM insight.generate_user_key(:'org', 'shape');
RESET ROLE;

-- Prefix, total length and exact layout.
SELECT left(:'uk1', 8) AS user_prefix, length(:'uk1') AS user_len,
       left(:'ok1', 7) AS org_prefix, length(:'ok1') AS org_len;
SELECT :'uk1' ~ '^ik_user_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$' AS user_layout,
       :'uk2' ~ '^ik_user_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$' AS user2_layout,
       :'ok1' ~ '^ik_org_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$' AS org_layout;
-- URL/header/shell-safe: nothing but [0-9A-Za-z_].
SELECT :'uk1' !~ '[^0-9A-Za-z_]' AS user_safe, :'ok1' !~ '[^0-9A-Za-z_]' AS org_safe;
-- 43 base62 characters carry at least 256 bits.
SELECT 43 * log(2, 62) >= 256 AS secret_bits_at_least_256;

-- Two keys differ: in full, in lookup id and in secret.
SELECT :'uk1' <> :'uk2' AS keys_differ,
       split_part(:'uk1', '_', 3) <> split_part(:'uk2', '_', 3) AS lookup_ids_differ,
       left(split_part(:'uk1', '_', 4), 43) <> left(split_part(:'uk2', '_', 4), 43) AS secrets_differ,
       :'uk1_id' <> :'uk2_id' AS key_ids_differ;
-- Many keys in one go: all distinct, all of the format.
SET ROLE regress_fmt_member;
CREATE TEMP TABLE fmt_many AS
  SELECT g, k.key_id, k.api_key FROM generate_series(1, 50) g,
         LATERAL insight.generate_user_key(:'org', 'bulk ' || g) k;
RESET ROLE;
SELECT count(*) AS generated, count(DISTINCT api_key) AS distinct_keys,
       (SELECT count(*) FROM insight.keys WHERE name LIKE 'bulk %') AS stored,
       count(DISTINCT split_part(api_key, '_', 3)) AS distinct_lookups,
       count(DISTINCT key_id) AS distinct_ids,
       bool_and(api_key ~ '^ik_user_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$') AS all_well_formed
  FROM fmt_many;
-- Every generated key verifies as VALID, as a user key, under its own key_id.
SELECT count(*) FILTER (WHERE v.code = 'VALID' AND v.kind = 'user' AND v.key_id = f.key_id) AS valid_user_keys
  FROM fmt_many f, LATERAL insight.verify(f.api_key) v;
DROP TABLE fmt_many;

-- verify() reports the key as generated.
SELECT v.valid, v.code, v.key_id = :'uk1_id' AS same_id, v.kind, v.org_id = :'org' AS same_org,
       v.user_id = :'member_id' AS same_user, v.role, v.expires_at
  FROM insight.verify(:'uk1') v;
SELECT v.valid, v.code, v.key_id = :'ok1_id' AS same_id, v.kind, v.org_id = :'org' AS same_org,
       v.user_id, v.role, v.expires_at
  FROM insight.verify(:'ok1') v;

-- The hint: prefix, first 4 characters of the lookup id, '...', the last 4
-- characters; it never contains the secret part nor the full lookup id.
SELECT k.kind, k.name,
       k.hint = left(:'uk1', 12) || '...' || right(:'uk1', 4) AS user_hint_shape
  FROM insight.keys k WHERE k.key_id = :'uk1_id';
SELECT k.hint = left(:'ok1', 11) || '...' || right(:'ok1', 4) AS org_hint_shape
  FROM insight.keys k WHERE k.key_id = :'ok1_id';
SELECT k.name,
       position(substr(:'uk1', 26, 43) IN k.hint) = 0 AS no_secret,
       position(split_part(:'uk1', '_', 3) IN k.hint) = 0 AS no_full_lookup,
       length(k.hint) < 20 AS short
  FROM insight.keys k WHERE k.key_id = :'uk1_id';
-- No 5-character piece of any secret appears in any hint.
SELECT count(*) AS hints_with_secret_piece
  FROM (VALUES (:'uk1_id'::uuid, :'uk1'), (:'uk2_id'::uuid, :'uk2'), (:'ok1_id'::uuid, :'ok1')) s(id, key)
  JOIN insight.keys k ON k.key_id = s.id,
  LATERAL generate_series(0, 42 - 4) i
 WHERE position(substr(right(s.key, 49), i + 1, 5) IN k.hint) > 0;

-- Stored rows: kind, owner, creator, name; the secret is nowhere in a column.
SELECT kind, name, org_name, owner_email, created_by_label, creator_deleted,
       expires_at IS NULL AS no_expiry
  FROM insight.keys WHERE org_id = :'org' AND name IN ('first', 'second', 'service', 'shape')
 ORDER BY name COLLATE "C";
SELECT count(*) AS rows_containing_a_key
  FROM insight.api_keys k
 WHERE k::text LIKE '%' || right(:'uk1', 49) || '%'
    OR k::text LIKE '%' || right(:'ok1', 49) || '%'
    OR k::text LIKE '%' || substr(:'uk1', 26, 43) || '%';
SELECT count(*) AS audit_rows_containing_a_key
  FROM insight.audit_log a
 WHERE a::text LIKE '%' || right(:'uk1', 49) || '%' OR a::text LIKE '%' || right(:'ok1', 49) || '%';

-- Names: required, non-blank, at most 200 bytes; need not be unique.
SET ROLE regress_fmt_member;
SELECT count(*) AS keys_before FROM insight.keys \gset
SELECT regress_try(format('SELECT insight.generate_user_key(%L, NULL)', :'org')) AS null_name,
       regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'org', '')) AS empty_name,
       regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'org', E' \t\n ')) AS blank_name,
       regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'org', repeat('n', 201))) AS long_name;
RESET ROLE;
SET ROLE regress_fmt_admin;
SELECT regress_try(format('SELECT insight.generate_org_key(%L, NULL)', :'org')) AS null_name,
       regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'org', '')) AS empty_name,
       regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'org', E' \t\n ')) AS blank_name,
       regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'org', repeat('n', 201))) AS long_name;
RESET ROLE;
SET ROLE regress_fmt_member;
SELECT count(*) = :keys_before AS nothing_generated FROM insight.keys;
-- 200 bytes is accepted, duplicates are accepted.
SELECT regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'org', repeat('n', 200))) AS name_200,
       regress_try(format('SELECT insight.generate_user_key(%L, %L)', :'org', 'first')) AS duplicate_name;
SELECT length(name) AS name_length, count(*) FROM insight.keys
 WHERE name IN ('first', repeat('n', 200)) GROUP BY name ORDER BY name COLLATE "C";
RESET ROLE;

-- expires_at is stored as given.
SET ROLE regress_fmt_member;
SELECT key_id AS exp_id FROM insight.generate_user_key(:'org', 'expiring', '2999-01-01 00:00:00+00') \gset
SELECT name, expires_at = '2999-01-01 00:00:00+00'::timestamptz AS expiry_stored
  FROM insight.keys WHERE key_id = :'exp_id';
RESET ROLE;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_fmt_admin, regress_fmt_member;
DROP ROLE regress_fmt_admin, regress_fmt_member;
RESET client_min_messages;
