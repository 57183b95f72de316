-- The owners every verify bench spreads its keys over: 10 organizations of
-- 10 read_write members each, listed in bench_owner (i = org * 10 + user).
-- A session that sets bench.gen_role first maps the first user to that
-- database role (10_verify's generation bench acts through it).
CREATE TABLE bench_owner (i int PRIMARY KEY, org_id uuid NOT NULL, user_id uuid NOT NULL);
DO $$
DECLARE
  org uuid;
  person uuid;
  gen_role name := nullif(current_setting('bench.gen_role', true), '');
BEGIN
  FOR o IN 0 .. 9 LOOP
    org := insight.create_organization('bench-org-' || o);
    FOR u IN 0 .. 9 LOOP
      person := insight.create_user('bench-' || o || '-' || u || '@example.com',
                                    db_role => CASE WHEN o = 0 AND u = 0 THEN gen_role END);
      PERFORM insight.set_membership(person, org, 'read_write');
      INSERT INTO bench_owner VALUES (o * 10 + u, org, person);
    END LOOP;
  END LOOP;
END
$$;
