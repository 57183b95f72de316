-- Identity changes made inside a COPY statement are audited and cascaded like
-- any other: the extension's functions called in COPY (query) TO STDOUT, DML
-- in COPY (... RETURNING) TO, and functions called from a COPY FROM's WHERE
-- clause. Only the rows a restore loads (a top-level COPY ... FROM into the
-- identity table itself, by a role that bypasses row-level security) get no
-- new audit rows (docs/SECURITY.md, "Restores"). No worker here: the cascades
-- wait for apply_cascades(). Runs in its own database.
\set own_db regress_idcopy_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

\ir sql/fixtures/issued_keys.sql
-- The audit rows written after the mark, with names instead of uuids.
CREATE FUNCTION audited_since(mark bigint)
RETURNS TABLE (actor_kind text, actor text, action text, org text, subject text, detail jsonb)
LANGUAGE sql AS $$
  SELECT a.actor_kind, name_of(a.actor_user_id), a.action, coalesce(name_of(a.org_id), o.name),
         coalesce(name_of(a.user_id), u.email), a.detail - 'name' - 'email'
    FROM insight.audit_log a
    LEFT JOIN insight.organizations o ON o.id = a.org_id
    LEFT JOIN insight.users u ON u.id = a.user_id
   WHERE a.id > mark ORDER BY a.id
$$;
CREATE FUNCTION queue() RETURNS TABLE (event text, who text, org text, state text, keys_done bigint, actor text)
LANGUAGE sql AS $$SELECT event, name_of(user_id), name_of(org_id), state, keys_done, name_of(actor_user_id)
                     FROM insight.cascade_queue ORDER BY id$$;

INSERT INTO ids VALUES ('acme', insight.create_organization('acme')),
                       ('root', insight.create_user('root@example.com', platform_admin => true)),
                       ('adm', insight.create_user('adm@example.com')),
                       ('bob', insight.create_user('bob@example.com')),
                       ('cy', insight.create_user('cy@example.com'));
SELECT insight.set_membership(id('adm'), id('acme'), 'org_admin'),
       insight.set_membership(id('bob'), id('acme'), 'read_write'),
       insight.set_membership(id('cy'), id('acme'), 'read_write');
SELECT issue('bob', 'acme', 'bob-1'), issue('cy', 'acme', 'cy-1');
SELECT max(id) AS mark FROM insight.audit_log \gset

-- An org admin removes a member inside COPY (query) TO STDOUT: audited, and
-- the cascade is queued and removes the member's key.
BEGIN;
SELECT insight.act_as(id('adm'));
COPY (SELECT insight.remove_membership(id('bob'), id('acme'))) TO STDOUT;
COMMIT;
SELECT * FROM audited_since(:mark);
SELECT * FROM queue();
SELECT code('bob-1') AS bob_1_before_cascade;
SELECT insight.apply_cascades() AS applied;
SELECT * FROM queue();
SELECT code('bob-1') AS bob_1_after_cascade;

-- ... and re-adds them the same way: audited; the old key stays gone.
SELECT max(id) AS mark FROM insight.audit_log \gset
BEGIN;
SELECT insight.act_as(id('adm'));
COPY (SELECT insight.set_membership(id('bob'), id('acme'), 'read_only')) TO STDOUT;
COMMIT;
SELECT * FROM audited_since(:mark);
SELECT code('bob-1') AS bob_1_after_readd;

-- A platform admin creates a platform admin inside COPY: audited.
SELECT max(id) AS mark FROM insight.audit_log \gset
BEGIN;
SELECT insight.act_as(id('root'));
COPY (SELECT insight.create_user('root2@example.com', platform_admin => true) IS NOT NULL) TO STDOUT;
COMMIT;
SELECT * FROM audited_since(:mark);

-- ... and deletes a user inside COPY: audited, cascaded.
SELECT issue('bob', 'acme', 'bob-2');
SELECT max(id) AS mark FROM insight.audit_log \gset
BEGIN;
SELECT insight.act_as(id('root'));
COPY (SELECT insight.delete_user(id('bob'))) TO STDOUT;
COMMIT;
SELECT * FROM audited_since(:mark);
SELECT * FROM queue();
SELECT code('bob-2') AS bob_2_before_cascade;
SELECT insight.apply_cascades() AS applied;
SELECT code('bob-2') AS bob_2_after_cascade;
SELECT event, state, keys_done FROM insight.cascade_queue WHERE event = 'user_deleted';

-- A superuser's DML inside COPY (... RETURNING) TO is audited and cascaded too.
SELECT max(id) AS mark FROM insight.audit_log \gset
COPY (DELETE FROM insight.memberships WHERE user_id = id('cy') RETURNING role) TO STDOUT;
SELECT * FROM audited_since(:mark);
SELECT event, name_of(user_id) AS who, state FROM insight.cascade_queue ORDER BY id DESC LIMIT 1;
SELECT insight.apply_cascades() AS applied;
SELECT code('cy-1') AS cy_1_after_cascade;

-- A restore's COPY ... FROM into the identity table itself records nothing
-- new; an extension function called from a COPY FROM's WHERE clause, or a row
-- of another table, is audited.
SELECT max(id) AS mark FROM insight.audit_log \gset
COPY insight.organizations (name) FROM STDIN;
restored-org
\.
SELECT * FROM audited_since(:mark);
SELECT max(id) AS mark FROM insight.audit_log \gset
COPY insight.organizations (name) FROM STDIN WHERE insight.create_organization(name || '-twin') IS NOT NULL;
copied-org
\.
SELECT * FROM audited_since(:mark);
CREATE TABLE copy_sink (name text);
CREATE FUNCTION sink_creates_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM insight.create_organization(NEW.name);
  RETURN NEW;
END $$;
CREATE TRIGGER sink_creates_org BEFORE INSERT ON copy_sink FOR EACH ROW EXECUTE FUNCTION sink_creates_org();
SELECT max(id) AS mark FROM insight.audit_log \gset
COPY copy_sink FROM STDIN;
sink-org
\.
SELECT * FROM audited_since(:mark);
SELECT name FROM insight.organizations WHERE name LIKE '%-org%' ORDER BY name;

\ir sql/fixtures/own_database_end.sql
RESET client_min_messages;
