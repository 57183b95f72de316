-- The audit trail (README "SQL interface"): every generation, revocation (by hand or by
-- cascade), identity change and cascade, with its actor, in order; nobody can
-- change it through the public interface.
CREATE ROLE regress_au_pa NOLOGIN;
CREATE ROLE regress_au_oa NOLOGIN;
CREATE ROLE regress_au_rw NOLOGIN;

-- Labels for the ids, so the trail prints without uuids.
CREATE TABLE public.regress_au_fx (label text PRIMARY KEY, id uuid NOT NULL UNIQUE);
GRANT SELECT ON public.regress_au_fx TO PUBLIC;
SELECT coalesce(max(id), 0) AS audit_start FROM insight.audit_log \gset

-- Identity changes by the operator (a superuser).
INSERT INTO regress_au_fx VALUES ('org', insight.create_organization('au-org'));
INSERT INTO regress_au_fx VALUES ('org2', insight.create_organization('au-org2'));
INSERT INTO regress_au_fx VALUES ('pa', insight.create_user('au-pa@example.com', 'PA', true, 'regress_au_pa'));
SELECT id AS org FROM regress_au_fx WHERE label = 'org' \gset
SELECT id AS org2 FROM regress_au_fx WHERE label = 'org2' \gset
-- ... by a platform admin (db_role).
SET ROLE regress_au_pa;
SELECT insight.create_user('au-oa@example.com', db_role => 'regress_au_oa') AS oa \gset
SELECT insight.create_user('au-rw@example.com', db_role => 'regress_au_rw') AS rw \gset
SELECT insight.set_membership(:'oa', :'org', 'org_admin');
RESET ROLE;
INSERT INTO regress_au_fx VALUES ('oa', :'oa'), ('rw', :'rw');
-- ... by an org admin through act_as (from a trusted application).
SET ROLE regress_app;
BEGIN;
SELECT insight.act_as(:'oa');
SELECT insight.set_membership(:'rw', :'org', 'read_write');
COMMIT;
RESET ROLE;
SET ROLE regress_au_pa;
SELECT insight.set_membership(:'rw', :'org2', 'read_only');
RESET ROLE;

-- Generation: a user key by its owner, an org key by the org admin and one by the operator.
SET ROLE regress_au_rw;
SELECT key_id AS rw_key_id, api_key AS rw_key FROM insight.generate_user_key(:'org', 'rw key') \gset
SELECT key_id AS rw_key2_id FROM insight.generate_user_key(:'org', 'rw key 2') \gset
SELECT key_id AS rw_key3_id FROM insight.generate_user_key(:'org2', 'rw key in org2') \gset
RESET ROLE;
SET ROLE regress_au_oa;
SELECT key_id AS oa_org_key_id, api_key AS oa_org_key FROM insight.generate_org_key(:'org', 'oa org key') \gset
RESET ROLE;
SELECT key_id AS op_org_key_id FROM insight.generate_org_key(:'org', 'operator org key') \gset
SELECT key_id AS org2_key_id FROM insight.generate_org_key(:'org2', 'org2 key') \gset
INSERT INTO regress_au_fx VALUES ('rw key', :'rw_key_id'), ('rw key 2', :'rw_key2_id'),
  ('rw key in org2', :'rw_key3_id'), ('oa org key', :'oa_org_key_id'), ('operator org key', :'op_org_key_id'),
  ('org2 key', :'org2_key_id');

-- Revocation: by the owner through its user key, by an org key.
SET ROLE regress_app;
BEGIN;
SELECT code FROM insight.authenticate(:'rw_key');
SELECT insight.revoke_key(:'rw_key2_id');
COMMIT;
BEGIN;
SELECT code FROM insight.authenticate(:'oa_org_key');
SELECT insight.revoke_key(:'op_org_key_id');
COMMIT;
RESET ROLE;

-- Identity changes and their cascades (drained one event at a time, so the
-- order of the trail does not depend on who applies them): a role change that
-- orphans an org key, a DBA's direct UPDATE of a display name, a membership
-- removed directly by a DBA, a user deleted, an organization deleted, the
-- platform admin flag granted and removed.
SELECT insight.set_membership(:'oa', :'org', 'read_only');
SELECT regress_drain();
UPDATE insight.users SET display_name = 'Reader' WHERE id = :'rw';
DELETE FROM insight.memberships WHERE user_id = :'rw' AND org_id = :'org2';
SELECT regress_drain();
SET ROLE regress_au_pa;
SELECT insight.delete_user(:'rw');
RESET ROLE;
SELECT regress_drain();
SELECT insight.delete_organization(:'org2');
SELECT regress_drain();
SELECT insight.set_platform_admin(:'oa', true);
SELECT insight.set_platform_admin(id, false) FROM regress_au_fx WHERE label = 'pa';
SELECT regress_drain();

-- The trail, in order. Rows written by one statement for several keys
-- (a cascade batch) are listed by key name.
SELECT row_number() OVER (ORDER BY t.grp, t.key_name, t.id) AS n,
       t.actor_kind, t.actor_user, t.actor_key, t.db_role, t.action, t.org, t.subject, t.key, t.detail
  FROM (SELECT a.id, a.detail->>'name' AS key_name,
               min(a.id) OVER (PARTITION BY CASE WHEN a.action = 'key.deleted'
                                                 THEN 'e' || (a.detail->>'event') ELSE 'i' || a.id END) AS grp,
               a.actor_kind,
               coalesce(ua.label, '-') AS actor_user,
               coalesce(ka.label, '-') AS actor_key,
               CASE WHEN a.actor_kind = 'cascade' THEN '(cascade)' ELSE a.actor_db_role END AS db_role,
               a.action,
               coalesce(o.label, '-') AS org,
               coalesce(u.label, '-') AS subject,
               coalesce(k.label, '-') AS key,
               (a.detail - 'event' - 'keys')::text AS detail
          FROM insight.audit_log a
          LEFT JOIN regress_au_fx ua ON ua.id = a.actor_user_id
          LEFT JOIN regress_au_fx ka ON ka.id = a.actor_key_id
          LEFT JOIN regress_au_fx o ON o.id = a.org_id
          LEFT JOIN regress_au_fx u ON u.id = a.user_id
          LEFT JOIN regress_au_fx k ON k.id = a.key_id
         WHERE a.id > :audit_start
           AND (a.org_id IN (SELECT id FROM regress_au_fx) OR a.user_id IN (SELECT id FROM regress_au_fx))) t
 ORDER BY n;
-- The keys an orphaning cascade lists, by name.
SELECT a.detail->>'reason' AS reason, x->>'name' AS key,
       (x->>'key_id')::uuid = :'oa_org_key_id' AS right_key
  FROM insight.audit_log a, jsonb_array_elements(a.detail->'keys') x
 WHERE a.id > :audit_start AND a.action = 'cascade.org_keys_orphaned'
   AND a.org_id IN (SELECT id FROM regress_au_fx);
-- Every row has a time and an actor kind from the documented set.
SELECT count(*) FILTER (WHERE at IS NULL) AS rows_without_time,
       count(*) FILTER (WHERE actor_kind NOT IN ('operator', 'user', 'user_key', 'org_key', 'cascade')) AS unknown_actor_kinds,
       bool_and(at <= clock_timestamp()) AS times_in_the_past
  FROM insight.audit_log WHERE id > :audit_start;
-- The cascades, as the operator sees them.
SELECT c.event, coalesce(o.label, '-') AS org, coalesce(u.label, '-') AS subject,
       c.old_role, c.new_role, c.state, c.keys_done, c.last_error, c.actor_kind,
       c.finished_at IS NOT NULL AS finished
  FROM insight.cascades c
  LEFT JOIN regress_au_fx o ON o.id = c.org_id LEFT JOIN regress_au_fx u ON u.id = c.user_id
 WHERE c.org_id IN (SELECT id FROM regress_au_fx) OR c.user_id IN (SELECT id FROM regress_au_fx)
 ORDER BY c.id;

-- Nobody can change the trail through the public interface: not the
-- operator role, not a platform admin, not a key.
SELECT count(*) AS audit_rows FROM insight.audit_log \gset
SET ROLE regress_operator;
SELECT regress_try('UPDATE insight.audit_log SET action = ''x''') AS op_update,
       regress_try('DELETE FROM insight.audit_log') AS op_delete,
       regress_try('UPDATE insight.audit SET action = ''x''') AS op_update_view,
       regress_try('DELETE FROM insight.audit') AS op_delete_view;
RESET ROLE;
SET ROLE regress_app;
BEGIN;
SELECT code FROM insight.authenticate(:'oa_org_key');
SELECT regress_try('DELETE FROM insight.audit_log') AS key_delete,
       regress_try('INSERT INTO insight.audit_log (actor_kind, action) VALUES (''operator'', ''x'')') AS key_insert;
COMMIT;
RESET ROLE;
SELECT count(*) = :audit_rows AS audit_unchanged FROM insight.audit_log;

DROP TABLE public.regress_au_fx;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_au_pa, regress_au_oa, regress_au_rw;
DROP ROLE regress_au_pa, regress_au_oa, regress_au_rw;
RESET client_min_messages;
