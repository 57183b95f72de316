-- The views (README "SQL interface") and what each principal sees through them and through
-- the base tables (reading a base table never shows more than the view);
-- an org admin demoted to read_write loses sight and control of the
-- organization key they created at once, while another admin keeps both.
CREATE ROLE regress_vw_pa NOLOGIN;
CREATE ROLE regress_vw_a1 NOLOGIN;
CREATE ROLE regress_vw_a2 NOLOGIN;
CREATE ROLE regress_vw_m NOLOGIN;
CREATE ROLE regress_vw_bm NOLOGIN;
CREATE ROLE regress_vw_c NOLOGIN;

CREATE TABLE public.regress_vw_fx (label text PRIMARY KEY, id uuid NOT NULL UNIQUE);
GRANT SELECT ON public.regress_vw_fx TO PUBLIC;
INSERT INTO regress_vw_fx VALUES
  ('A', insight.create_organization('vw-A')),
  ('B', insight.create_organization('vw-B')),
  ('pa', insight.create_user('vw-pa@example.com', NULL, true, 'regress_vw_pa')),
  ('a1', insight.create_user('vw-a1@example.com', NULL, false, 'regress_vw_a1')),
  ('a2', insight.create_user('vw-a2@example.com', NULL, false, 'regress_vw_a2')),
  ('m', insight.create_user('vw-m@example.com', NULL, false, 'regress_vw_m')),
  ('bm', insight.create_user('vw-bm@example.com', NULL, false, 'regress_vw_bm')),
  ('c', insight.create_user('vw-c@example.com', NULL, false, 'regress_vw_c'));
SELECT id AS a FROM regress_vw_fx WHERE label = 'A' \gset
SELECT id AS b FROM regress_vw_fx WHERE label = 'B' \gset
SELECT id AS a1 FROM regress_vw_fx WHERE label = 'a1' \gset
SELECT id AS c FROM regress_vw_fx WHERE label = 'c' \gset
SELECT insight.set_membership(u.id, o.id, x.role)
  FROM (VALUES ('a1', 'A', 'org_admin'), ('a2', 'A', 'org_admin'), ('m', 'A', 'read_write'),
               ('bm', 'B', 'read_write'), ('c', 'B', 'org_admin')) x(u, o, role)
  JOIN regress_vw_fx u ON u.label = x.u JOIN regress_vw_fx o ON o.label = x.o;

SET ROLE regress_vw_a1;
SELECT key_id AS a1_org_key, api_key AS a1_org_key_text FROM insight.generate_org_key(:'a', 'A org key by a1') \gset
SELECT insight.generate_user_key(:'a', 'A a1 key') IS NOT NULL AS generated;
RESET ROLE;
SET ROLE regress_vw_m;
SELECT insight.generate_user_key(:'a', 'A m key') IS NOT NULL AS generated;
RESET ROLE;
SET ROLE regress_vw_bm;
SELECT insight.generate_user_key(:'b', 'B bm key') IS NOT NULL AS generated;
RESET ROLE;
SET ROLE regress_vw_c;
SELECT insight.generate_org_key(:'b', 'B org key by c') IS NOT NULL AS generated;
RESET ROLE;
SET ROLE regress_vw_pa;
SELECT key_id AS pa_org_key FROM insight.generate_org_key(:'b', 'B org key by pa') \gset
RESET ROLE;

-- What the current principal sees, through every view and base table,
-- restricted to this file's organizations and users.
CREATE FUNCTION public.regress_vw_seen() RETURNS TABLE (source text, seen text)
LANGUAGE plpgsql AS $f$
DECLARE
  fx uuid[] := ARRAY(SELECT id FROM public.regress_vw_fx);
BEGIN
  source := 'insight.keys';
  SELECT coalesce(string_agg(format('%s [%s, %s, owner %s, creator %s%s]', k.name, k.kind,
                                    coalesce(k.org_name, '?'), coalesce(k.owner_email, '-'),
                                    k.created_by_label, CASE WHEN k.creator_deleted THEN ' (deleted)' ELSE '' END),
                             '; ' ORDER BY k.name COLLATE "C"), '(none)')
    INTO seen FROM insight.keys k WHERE k.org_id = ANY (fx);
  RETURN NEXT;
  source := 'insight.api_keys';
  SELECT coalesce(string_agg(k.name, '; ' ORDER BY k.name COLLATE "C"), '(none)')
    INTO seen FROM insight.api_keys k WHERE k.org_id = ANY (fx);
  RETURN NEXT;
  source := 'insight.organizations';
  SELECT coalesce(string_agg(o.name, '; ' ORDER BY o.name COLLATE "C"), '(none)')
    INTO seen FROM insight.organizations o WHERE o.id = ANY (fx);
  RETURN NEXT;
  source := 'insight.users';
  SELECT coalesce(string_agg(u.email, '; ' ORDER BY u.email COLLATE "C"), '(none)')
    INTO seen FROM insight.users u WHERE u.id = ANY (fx);
  RETURN NEXT;
  source := 'insight.memberships';
  SELECT coalesce(string_agg(format('%s in %s: %s', fu.label, fo.label, m.role), '; '
                             ORDER BY fo.label COLLATE "C", fu.label COLLATE "C"), '(none)')
    INTO seen FROM insight.memberships m
    JOIN public.regress_vw_fx fu ON fu.id = m.user_id JOIN public.regress_vw_fx fo ON fo.id = m.org_id;
  RETURN NEXT;
  source := 'insight.audit';
  SELECT coalesce(string_agg(format('%s x%s', x.action, x.n), '; ' ORDER BY x.action COLLATE "C"), '(none)')
    INTO seen FROM (SELECT a.action, count(*) AS n FROM insight.audit a
                     WHERE a.org_id = ANY (fx) OR a.user_id = ANY (fx) GROUP BY a.action) x;
  RETURN NEXT;
  source := 'insight.audit_log';
  SELECT format('%s rows, the same as the view: %s', count(*),
                count(*) = (SELECT count(*) FROM insight.audit a WHERE a.org_id = ANY (fx) OR a.user_id = ANY (fx)))
    INTO seen FROM insight.audit_log x WHERE x.org_id = ANY (fx) OR x.user_id = ANY (fx);
  RETURN NEXT;
  source := 'insight.cascades';
  SELECT coalesce(string_agg(format('%s %s, %s keys', x.event, x.state, x.keys_done), '; '
                             ORDER BY x.id), '(none)')
    INTO seen FROM insight.cascades x WHERE x.org_id = ANY (fx) OR x.user_id = ANY (fx);
  RETURN NEXT;
  source := 'insight.cascade_queue';
  SELECT format('%s rows', count(*)) INTO seen FROM insight.cascade_queue x
   WHERE x.org_id = ANY (fx) OR x.user_id = ANY (fx);
  RETURN NEXT;
END
$f$;

-- Some cascade history to be seen: a membership removed and restored.
SELECT insight.remove_membership(id, :'b') FROM regress_vw_fx WHERE label = 'bm';
SELECT regress_drain();
SELECT insight.set_membership(id, :'b', 'read_write') FROM regress_vw_fx WHERE label = 'bm';
SET ROLE regress_vw_bm;
SELECT insight.generate_user_key(:'b', 'B bm key') IS NOT NULL AS generated;
RESET ROLE;

-- ---------------------------------------------------------------- each principal
-- The operator (a superuser: the view filters for it as for everyone).
SELECT * FROM regress_vw_seen();
SET ROLE regress_operator;
SELECT * FROM regress_vw_seen();
RESET ROLE;
SET ROLE regress_vw_pa;
SELECT * FROM regress_vw_seen();
RESET ROLE;
SET ROLE regress_vw_a1;
SELECT * FROM regress_vw_seen();
RESET ROLE;
SET ROLE regress_vw_m;
SELECT * FROM regress_vw_seen();
RESET ROLE;
SET ROLE regress_vw_bm;
SELECT * FROM regress_vw_seen();
RESET ROLE;
SET ROLE regress_nobody;
SELECT * FROM regress_vw_seen();
RESET ROLE;
-- Keys as principals, from an application role.
SET ROLE regress_vw_m;
SELECT api_key AS m_key FROM insight.generate_user_key(:'a', 'A m second key') \gset
RESET ROLE;
SET ROLE regress_app;
BEGIN;
SELECT code, kind, role FROM insight.authenticate(:'m_key');
SELECT * FROM regress_vw_seen();
ROLLBACK;
RESET ROLE;
SET ROLE regress_vw_a2;
SELECT api_key AS a_org_key FROM insight.generate_org_key(:'a', 'A org key by a2') \gset
RESET ROLE;
SET ROLE regress_app;
BEGIN;
SELECT code, kind, role FROM insight.authenticate(:'a_org_key');
SELECT * FROM regress_vw_seen();
ROLLBACK;
RESET ROLE;

-- ---------------------------------------------------------------- demotion
-- a1 created 'A org key by a1' and manages it.
SET ROLE regress_vw_a1;
SELECT name FROM insight.keys WHERE kind = 'organization' ORDER BY name COLLATE "C";
RESET ROLE;
-- Demoted to read_write: at once (in the demoting transaction itself, before
-- any cascade can run) a1 no longer sees or manages it, through the view, the
-- base table or revoke_key().
BEGIN;
SELECT insight.set_membership(:'a1', :'a', 'read_write');
SET ROLE regress_vw_a1;
SELECT name, kind FROM insight.keys ORDER BY name COLLATE "C";
SELECT name FROM insight.api_keys ORDER BY name COLLATE "C";
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'a1_org_key')) AS a1_revokes_own_org_key;
SELECT regress_try(format('SELECT insight.generate_org_key(%L, %L)', :'a', 'after demotion')) AS a1_generates_org_key;
RESET ROLE;
COMMIT;
-- The same after COMMIT.
SET ROLE regress_vw_a1;
SELECT name, kind FROM insight.keys ORDER BY name COLLATE "C";
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'a1_org_key')) AS a1_revokes_own_org_key;
RESET ROLE;
-- The key itself keeps working, and another admin of A still sees and manages it.
SELECT code, role FROM insight.verify(:'a1_org_key_text');
SET ROLE regress_vw_a2;
SELECT name FROM insight.keys WHERE kind = 'organization' ORDER BY name COLLATE "C";
BEGIN;
SELECT insight.revoke_key(:'a1_org_key');
SELECT count(*) AS still_there FROM insight.keys WHERE key_id = :'a1_org_key';
ROLLBACK;
RESET ROLE;
-- A platform admin too, and finds it in the audit once the cascade ran.
SELECT regress_drain();
SET ROLE regress_vw_pa;
SELECT count(*) AS pa_sees_it FROM insight.keys WHERE key_id = :'a1_org_key';
SELECT a.action, a.detail->>'reason' AS reason, a.detail->'keys'->0->>'name' AS orphaned_key,
       jsonb_array_length(a.detail->'keys') AS keys
  FROM insight.audit a WHERE a.action = 'cascade.org_keys_orphaned' AND a.org_id = :'a';
RESET ROLE;
-- Promoted again: visible again at once.
SELECT insight.set_membership(:'a1', :'a', 'org_admin');
SET ROLE regress_vw_a1;
SELECT name FROM insight.keys WHERE kind = 'organization' ORDER BY name COLLATE "C";
RESET ROLE;

-- A platform admin who created an org key in B (not a member) and loses the
-- flag: the key disappears from their view at once; B's admin still has it.
BEGIN;
SELECT insight.set_platform_admin(id, false) FROM regress_vw_fx WHERE label = 'pa';
SET ROLE regress_vw_pa;
SELECT count(*) AS visible_keys FROM insight.keys;
SELECT regress_try(format('SELECT insight.revoke_key(%L)', :'pa_org_key')) AS pa_revokes_own_org_key;
RESET ROLE;
COMMIT;
SET ROLE regress_vw_c;
SELECT name FROM insight.keys WHERE kind = 'organization' ORDER BY name COLLATE "C";
RESET ROLE;
SELECT regress_drain();
SELECT a.action, a.detail->>'reason' AS reason, a.detail->'keys'->0->>'name' AS orphaned_key
  FROM insight.audit a WHERE a.action = 'cascade.org_keys_orphaned' AND a.org_id = :'b';

-- The creator of an org key is deleted: the key stays, shown with its creator deleted.
SELECT insight.delete_user(:'c');
SELECT regress_drain();
SELECT name, created_by_label, creator_deleted
  FROM insight.keys WHERE org_id = :'b' AND kind = 'organization' ORDER BY name COLLATE "C";

DROP FUNCTION public.regress_vw_seen();
DROP TABLE public.regress_vw_fx;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_vw_pa, regress_vw_a1, regress_vw_a2, regress_vw_m, regress_vw_bm, regress_vw_c;
DROP ROLE regress_vw_pa, regress_vw_a1, regress_vw_a2, regress_vw_m, regress_vw_bm, regress_vw_c;
RESET client_min_messages;
