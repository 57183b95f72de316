CREATE EXTENSION insight_keys CASCADE;
-- The people of the browser test. Passwords are SCRAM-hashed by the server
-- (password_encryption); the console never sees them but at log in.
CREATE ROLE console_people NOLOGIN;
-- The console's own role: a plain login, no grants beyond PUBLIC's.
CREATE ROLE console_api LOGIN;
CREATE ROLE ik_plain LOGIN PASSWORD 'plain-secret-1' IN ROLE console_people;
CREATE ROLE ik_orgadmin LOGIN PASSWORD 'orgadmin-secret-2' IN ROLE console_people;
CREATE ROLE ik_platform LOGIN PASSWORD 'platform-secret-3' IN ROLE console_people;
CREATE ROLE ik_other LOGIN PASSWORD 'other-secret-4' IN ROLE console_people;
CREATE ROLE ik_unmapped LOGIN PASSWORD 'unmapped-secret-5' IN ROLE console_people;

SELECT insight.create_organization('Acme') AS acme \gset
SELECT insight.create_organization('Globex') AS globex \gset
SELECT insight.create_user('plain@acme.example', 'Pat Plain', false, 'ik_plain') AS plain \gset
SELECT insight.create_user('admin@acme.example', 'Olga Admin', false, 'ik_orgadmin') AS orgadmin \gset
SELECT insight.create_user('root@insight.example', 'Paula Platform', true, 'ik_platform') AS platform \gset
SELECT insight.create_user('other@globex.example', 'Otto Other', false, 'ik_other') AS other \gset
SELECT insight.set_membership(:'plain', :'acme', 'read_write') \g /dev/null
SELECT insight.set_membership(:'orgadmin', :'acme', 'org_admin') \g /dev/null
SELECT insight.set_membership(:'other', :'globex', 'read_write') \g /dev/null

-- One key of each kind per corner of the permission table (docs/CONSOLE.md).
SET ROLE ik_plain;
SELECT key_id FROM insight.generate_user_key(:'acme', 'plain laptop') \g /dev/null
RESET ROLE;
SET ROLE ik_orgadmin;
SELECT key_id FROM insight.generate_user_key(:'acme', 'admin script') \g /dev/null
SELECT key_id FROM insight.generate_org_key(:'acme', 'Acme CI') \g /dev/null
RESET ROLE;
SET ROLE ik_other;
SELECT key_id FROM insight.generate_user_key(:'globex', 'globex tool') \g /dev/null
RESET ROLE;
SELECT key_id FROM insight.generate_org_key(:'globex', 'Globex SIEM') \g /dev/null
