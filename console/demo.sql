-- The people who log in to the console in `make demo` (console/demo.sh), with
-- passwords printed by the demo. Acme comes from scripts/demo.sql when it is
-- there; otherwise it is created here.
\set QUIET on
CREATE ROLE console_people NOLOGIN;
-- The console's own role, for the X-Api-Key API: no grant beyond PUBLIC's.
CREATE ROLE insight_console LOGIN;
CREATE ROLE pat LOGIN PASSWORD 'pat-demo-password' IN ROLE console_people;
CREATE ROLE olga LOGIN PASSWORD 'olga-demo-password' IN ROLE console_people;
CREATE ROLE uma LOGIN PASSWORD 'uma-demo-password' IN ROLE console_people;
-- console/demo.sh put their scram-sha-256 line first in pg_hba.conf.
SELECT pg_reload_conf() \g /dev/null

SELECT coalesce((SELECT id FROM insight.organizations WHERE name = 'Acme'),
                insight.create_organization('Acme')) AS acme \gset
SELECT coalesce((SELECT id FROM insight.organizations WHERE name = 'Globex'),
                insight.create_organization('Globex')) AS globex \gset
SELECT insight.create_user('pat@insight.example', 'Pat (platform admin)', true, 'pat') AS pat \gset
SELECT insight.create_user('olga@acme.example', 'Olga (org admin)', false, 'olga') AS olga \gset
SELECT insight.create_user('uma@acme.example', 'Uma (read/write)', false, 'uma') AS uma \gset
SELECT insight.set_membership(:'olga', :'acme', 'org_admin') \g /dev/null
SELECT insight.set_membership(:'uma', :'acme', 'read_write') \g /dev/null
SELECT insight.set_membership(:'uma', :'globex', 'read_only') \g /dev/null

-- A few keys, so that each person's list shows what they may see.
SET ROLE uma;
SELECT key_id FROM insight.generate_user_key(:'acme', 'Uma laptop') \g /dev/null
RESET ROLE;
SET ROLE olga;
SELECT key_id FROM insight.generate_org_key(:'acme', 'Acme monitoring') \g /dev/null
RESET ROLE;
SELECT key_id FROM insight.generate_org_key(:'globex', 'Globex SIEM') \g /dev/null
