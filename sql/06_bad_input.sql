-- Bad input to every management function (README "SQL interface"): the SQLSTATE of the
-- error, and nothing changed. 22023 invalid parameter, 42501 insufficient
-- privilege, P0002 not found, 23505 duplicate, 28000 failed authentication.
CREATE ROLE regress_bad_admin NOLOGIN;
CREATE ROLE regress_bad_member NOLOGIN;
CREATE ROLE regress_bad_spare NOLOGIN;
SELECT insight.create_organization('bad-org') AS org \gset
SELECT insight.create_user('bad-admin@example.com', db_role => 'regress_bad_admin') AS admin_id \gset
SELECT insight.create_user('Bad-Member@Example.com', db_role => 'regress_bad_member') AS member_id \gset
SELECT insight.set_membership(:'admin_id', :'org', 'org_admin');
SELECT insight.set_membership(:'member_id', :'org', 'read_write');
SET ROLE regress_bad_member;
SELECT key_id AS member_key_id, api_key AS member_key FROM insight.generate_user_key(:'org', 'bad member key') \gset
RESET ROLE;
\set unknown '''00000000-0000-0000-0000-000000000001'''

-- A snapshot of every table, to show that nothing changed (no cascade may
-- be pending, or the worker could change the counts meanwhile).
SELECT regress_drain();
CREATE TEMP TABLE bad_before AS
  SELECT (SELECT count(*) FROM insight.organizations) AS orgs,
         (SELECT count(*) FROM insight.users) AS users,
         (SELECT string_agg(user_id || '/' || org_id || '/' || role, ',' ORDER BY user_id, org_id) FROM insight.memberships) AS memberships,
         (SELECT string_agg(id || '/' || name || '/' || coalesce(expires_at::text, ''), ',' ORDER BY id) FROM insight.api_keys) AS keys,
         (SELECT string_agg(id || '/' || email || '/' || is_platform_admin || '/' || coalesce(db_role, ''), ',' ORDER BY id) FROM insight.users) AS user_rows,
         (SELECT string_agg(id || '/' || name, ',' ORDER BY id) FROM insight.organizations) AS org_rows,
         (SELECT count(*) FROM insight.audit_log) AS audit,
         (SELECT count(*) FROM insight.cascade_queue) AS cascades;

-- ---------------------------------------------------------------- as the operator
SELECT * FROM (VALUES
  ('create_organization(NULL)', regress_try('SELECT insight.create_organization(NULL)')),
  ('create_organization('''')', regress_try('SELECT insight.create_organization('''')')),
  ('create_organization(blank)', regress_try('SELECT insight.create_organization(E'' \t\n'')')),
  ('create_organization(201 bytes)', regress_try('SELECT insight.create_organization(repeat(''o'', 201))')),
  ('create_organization(duplicate)', regress_try('SELECT insight.create_organization(''bad-org'')')),
  ('delete_organization(NULL)', regress_try('SELECT insight.delete_organization(NULL)')),
  ('delete_organization(unknown)', regress_try(format('SELECT insight.delete_organization(%s)', :'unknown'))),
  ('create_user(NULL)', regress_try('SELECT insight.create_user(NULL)')),
  ('create_user('''')', regress_try('SELECT insight.create_user('''')')),
  ('create_user(blank)', regress_try('SELECT insight.create_user(''   '')')),
  ('create_user(no @)', regress_try('SELECT insight.create_user(''nobody.example.com'')')),
  ('create_user(nothing before @)', regress_try('SELECT insight.create_user(''@example.com'')')),
  ('create_user(nothing after @)', regress_try('SELECT insight.create_user(''someone@'')')),
  ('create_user(two @)', regress_try('SELECT insight.create_user(''a@b@example.com'')')),
  ('create_user(space inside)', regress_try('SELECT insight.create_user(''some one@example.com'')')),
  ('create_user(control character)', regress_try('SELECT insight.create_user(E''some\none@example.com'')')),
  ('create_user(321-byte email)', regress_try(format('SELECT insight.create_user(%L)', repeat('e', 309) || '@example.com'))),
  ('create_user(201-byte display name)', regress_try(format('SELECT insight.create_user(''bad-new@example.com'', %L)', repeat('d', 201)))),
  ('create_user(duplicate email)', regress_try('SELECT insight.create_user(''bad-admin@example.com'')')),
  ('create_user(duplicate email, other case)', regress_try('SELECT insight.create_user(''BAD-MEMBER@example.COM'')')),
  ('create_user(db_role not a role)', regress_try('SELECT insight.create_user(''bad-new@example.com'', db_role => ''regress_bad_no_such_role'')')),
  ('create_user(db_role already mapped)', regress_try('SELECT insight.create_user(''bad-new@example.com'', db_role => ''regress_bad_admin'')')),
  ('set_membership(NULL user)', regress_try(format('SELECT insight.set_membership(NULL, %L, ''read_only'')', :'org'))),
  ('set_membership(NULL org)', regress_try(format('SELECT insight.set_membership(%L, NULL, ''read_only'')', :'member_id'))),
  ('set_membership(NULL role)', regress_try(format('SELECT insight.set_membership(%L, %L, NULL)', :'member_id', :'org'))),
  ('set_membership(role ''admin'')', regress_try(format('SELECT insight.set_membership(%L, %L, ''admin'')', :'member_id', :'org'))),
  ('set_membership(role ''ORG_ADMIN'')', regress_try(format('SELECT insight.set_membership(%L, %L, ''ORG_ADMIN'')', :'member_id', :'org'))),
  ('set_membership(role ''platform_admin'')', regress_try(format('SELECT insight.set_membership(%L, %L, ''platform_admin'')', :'member_id', :'org'))),
  ('set_membership(role '''')', regress_try(format('SELECT insight.set_membership(%L, %L, '''')', :'member_id', :'org'))),
  ('set_membership(unknown user)', regress_try(format('SELECT insight.set_membership(%s, %L, ''read_only'')', :'unknown', :'org'))),
  ('set_membership(unknown org)', regress_try(format('SELECT insight.set_membership(%L, %s, ''read_only'')', :'member_id', :'unknown'))),
  ('remove_membership(NULL user)', regress_try(format('SELECT insight.remove_membership(NULL, %L)', :'org'))),
  ('remove_membership(NULL org)', regress_try(format('SELECT insight.remove_membership(%L, NULL)', :'member_id'))),
  ('remove_membership(not a member)', regress_try(format('SELECT insight.remove_membership(%s, %L)', :'unknown', :'org'))),
  ('set_platform_admin(NULL user)', regress_try('SELECT insight.set_platform_admin(NULL, true)')),
  ('set_platform_admin(NULL flag)', regress_try(format('SELECT insight.set_platform_admin(%L, NULL)', :'member_id'))),
  ('set_platform_admin(unknown user)', regress_try(format('SELECT insight.set_platform_admin(%s, true)', :'unknown'))),
  ('delete_user(NULL)', regress_try('SELECT insight.delete_user(NULL)')),
  ('delete_user(unknown)', regress_try(format('SELECT insight.delete_user(%s)', :'unknown'))),
  ('generate_org_key(NULL org)', regress_try('SELECT insight.generate_org_key(NULL, ''k'')')),
  ('generate_org_key(unknown org)', regress_try(format('SELECT insight.generate_org_key(%s, ''k'')', :'unknown'))),
  ('generate_org_key(NULL name)', regress_try(format('SELECT insight.generate_org_key(%L, NULL)', :'org'))),
  ('generate_user_key(as the operator)', regress_try(format('SELECT insight.generate_user_key(%L, ''k'')', :'org'))),
  ('revoke_key(NULL)', regress_try('SELECT insight.revoke_key(NULL)')),
  ('revoke_key(unknown)', regress_try(format('SELECT insight.revoke_key(%s)', :'unknown'))),
  ('act_as(NULL)', regress_try('SELECT insight.act_as(NULL)')),
  ('act_as(unknown user)', regress_try(format('SELECT insight.act_as(%s)', :'unknown'))),
  ('act_as(scope ''forever'')', regress_try(format('SELECT insight.act_as(%L, ''forever'')', :'member_id'))),
  ('act_as(scope NULL)', regress_try(format('SELECT insight.act_as(%L, NULL)', :'member_id'))),
  ('authenticate(NULL)', regress_try('SELECT insight.authenticate(NULL)')),
  ('authenticate('''')', regress_try('SELECT insight.authenticate('''')')),
  ('authenticate(scope ''forever'')', regress_try(format('SELECT insight.authenticate(%L, ''forever'')', :'member_key'))),
  ('authenticate(scope NULL)', regress_try(format('SELECT insight.authenticate(%L, NULL)', :'member_key')))
) t(call, sqlstate);

-- ---------------------------------------------------------------- as an org admin / a user
-- What the principal may never do is denied with 42501 (whatever the
-- target); inside its own organization, the same validation as for the operator.
SET ROLE regress_bad_admin;
SELECT * FROM (VALUES
  ('create_organization(NULL)', regress_try('SELECT insight.create_organization(NULL)')),
  ('create_organization(new)', regress_try('SELECT insight.create_organization(''bad-new'')')),
  ('create_user(valid)', regress_try('SELECT insight.create_user(''bad-new@example.com'')')),
  ('delete_user(unknown)', regress_try(format('SELECT insight.delete_user(%s)', :'unknown'))),
  ('delete_organization(own org)', regress_try(format('SELECT insight.delete_organization(%L)', :'org'))),
  ('set_platform_admin(self)', regress_try(format('SELECT insight.set_platform_admin(%L, true)', :'admin_id'))),
  ('set_membership(bad role, own org)', regress_try(format('SELECT insight.set_membership(%L, %L, ''owner'')', :'member_id', :'org'))),
  ('set_membership(unknown user, own org)', regress_try(format('SELECT insight.set_membership(%s, %L, ''read_only'')', :'unknown', :'org'))),
  ('set_membership(unknown org)', regress_try(format('SELECT insight.set_membership(%L, %s, ''read_only'')', :'member_id', :'unknown'))),
  ('remove_membership(not a member, own org)', regress_try(format('SELECT insight.remove_membership(%s, %L)', :'unknown', :'org'))),
  ('remove_membership(unknown org)', regress_try(format('SELECT insight.remove_membership(%L, %s)', :'member_id', :'unknown'))),
  ('generate_org_key(unknown org)', regress_try(format('SELECT insight.generate_org_key(%s, ''k'')', :'unknown'))),
  ('generate_user_key(unknown org)', regress_try(format('SELECT insight.generate_user_key(%s, ''k'')', :'unknown'))),
  ('generate_user_key(NULL org)', regress_try('SELECT insight.generate_user_key(NULL, ''k'')')),
  ('revoke_key(unknown)', regress_try(format('SELECT insight.revoke_key(%s)', :'unknown'))),
  ('apply_cascades()', regress_try('SELECT insight.apply_cascades()')),
  ('act_as(member)', regress_try(format('SELECT insight.act_as(%L)', :'member_id')))
) t(call, sqlstate);
RESET ROLE;
SET ROLE regress_bad_member;
SELECT * FROM (VALUES
  ('generate_user_key(unknown org)', regress_try(format('SELECT insight.generate_user_key(%s, ''k'')', :'unknown'))),
  ('generate_org_key(own org)', regress_try(format('SELECT insight.generate_org_key(%L, ''k'')', :'org'))),
  ('set_membership(self to org_admin)', regress_try(format('SELECT insight.set_membership(%L, %L, ''org_admin'')', :'member_id', :'org'))),
  ('remove_membership(self)', regress_try(format('SELECT insight.remove_membership(%L, %L)', :'member_id', :'org'))),
  ('revoke_key(unknown)', regress_try(format('SELECT insight.revoke_key(%s)', :'unknown')))
) t(call, sqlstate);
RESET ROLE;

-- Nothing changed.
SELECT b.orgs = (SELECT count(*) FROM insight.organizations) AS orgs_unchanged,
       b.users = (SELECT count(*) FROM insight.users) AS users_unchanged,
       b.org_rows = (SELECT string_agg(id || '/' || name, ',' ORDER BY id) FROM insight.organizations) AS org_rows_unchanged,
       b.user_rows = (SELECT string_agg(id || '/' || email || '/' || is_platform_admin || '/' || coalesce(db_role, ''), ',' ORDER BY id) FROM insight.users) AS user_rows_unchanged,
       b.memberships = (SELECT string_agg(user_id || '/' || org_id || '/' || role, ',' ORDER BY user_id, org_id) FROM insight.memberships) AS memberships_unchanged,
       b.keys = (SELECT string_agg(id || '/' || name || '/' || coalesce(expires_at::text, ''), ',' ORDER BY id) FROM insight.api_keys) AS keys_unchanged,
       b.audit = (SELECT count(*) FROM insight.audit_log) AS audit_unchanged,
       b.cascades = (SELECT count(*) FROM insight.cascade_queue) AS cascades_unchanged
  FROM bad_before b;
SELECT kind FROM insight.whoami();
-- Valid calls still work afterwards (the failures left no state behind).
SELECT code, role FROM insight.verify(:'member_key');
SELECT insight.create_user('bad-new@example.com', 'New', false, 'regress_bad_spare') IS NOT NULL AS created;
DROP TABLE bad_before;

-- Roles are cluster-wide and outlive this database: drop them, so that the
-- suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_bad_admin, regress_bad_member, regress_bad_spare;
DROP ROLE regress_bad_admin, regress_bad_member, regress_bad_spare;
RESET client_min_messages;
