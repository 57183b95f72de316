-- insight_keys 1.0: tables, policies, grants and thin declarations.
-- Every decision is made in C++ (extension/src, extension/core).
\echo Use "CREATE EXTENSION insight_keys" to load this file. \quit

-- ---------------------------------------------------------------- the schema
-- CVE-2022-2625 class. PostgreSQL 15 installs into the control file's schema
-- even when that schema already exists and belongs to someone else; whoever
-- owns schema insight (or may create in it) could then drop, shadow or
-- overload the extension's objects. This runs first, inside CREATE EXTENSION's
-- transaction, so refusing here undoes the whole install (of 1.0 or 1.1).
DO $schema_check$
DECLARE
  ext oid;
  ext_owner oid;
  nsp oid;
  nsp_owner oid;
  strays text;
BEGIN
  SELECT e.oid, e.extowner, e.extnamespace INTO ext, ext_owner, nsp
    FROM pg_catalog.pg_extension e
   WHERE e.extname OPERATOR(pg_catalog.=) 'insight_keys';
  SELECT n.nspowner INTO nsp_owner
    FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) nsp;

  IF nsp_owner OPERATOR(pg_catalog.<>) ext_owner
     AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) nsp_owner) THEN
    RAISE EXCEPTION 'schema insight is owned by role %, which is not a superuser',
        (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) nsp_owner)
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Drop the schema (or give it to a superuser and empty it) before installing insight_keys.';
  END IF;

  IF EXISTS (SELECT 1
               FROM pg_catalog.pg_namespace n,
                    LATERAL pg_catalog.aclexplode(n.nspacl) a
              WHERE n.oid OPERATOR(pg_catalog.=) nsp
                AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
                AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner) THEN
    RAISE EXCEPTION 'a role other than its owner may create objects in schema insight'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'REVOKE CREATE ON SCHEMA insight FROM PUBLIC (and every other grantee).';
  END IF;

  -- Every object in the schema must belong to the extension. Indexes, the row
  -- types of tables and views, and array types follow their parent.
  SELECT pg_catalog.string_agg(o.descr, ', ' ORDER BY o.descr) INTO strays
    FROM (
      SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid
        FROM pg_catalog.pg_class c
       WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
         AND c.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I']::"char"[])
      UNION ALL
      SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid
        FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid
        FROM pg_catalog.pg_type t
       WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
         AND t.typrelid OPERATOR(pg_catalog.=) 0
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e
                          WHERE e.typarray OPERATOR(pg_catalog.=) t.oid)
      UNION ALL
      SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid
        FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_collation c WHERE c.collnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_conversion c WHERE c.connamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, f.oid
        FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, c.oid
        FROM pg_catalog.pg_ts_config c WHERE c.cfgnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, d.oid
        FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace OPERATOR(pg_catalog.=) nsp
      UNION ALL
      SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, s.oid
        FROM pg_catalog.pg_statistic_ext s WHERE s.stxnamespace OPERATOR(pg_catalog.=) nsp
    ) AS x
    CROSS JOIN LATERAL (SELECT pg_catalog.pg_describe_object(x.classid, x.objid, 0) AS descr) AS o
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) x.classid
                        AND d.objid OPERATOR(pg_catalog.=) x.objid
                        AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                        AND d.refobjid OPERATOR(pg_catalog.=) ext
                        AND d.deptype OPERATOR(pg_catalog.=) 'e');
  IF strays IS NOT NULL THEN
    RAISE EXCEPTION 'schema insight holds objects that do not belong to extension insight_keys: %', strays
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Drop them (or the schema) before installing insight_keys.';
  END IF;
END
$schema_check$;

-- Roles are cluster-wide: create them once, in whichever database installs first.
-- insight_operator: members act as the platform itself (the operator principal).
-- insight_trusted_app: members may call insight.act_as() (a trusted application).
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'insight_operator') THEN
    CREATE ROLE insight_operator NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'insight_trusted_app') THEN
    CREATE ROLE insight_trusted_app NOLOGIN;
  END IF;
END
$roles$;

-- ---------------------------------------------------------------- tables

CREATE TABLE @extschema@.organizations (
  id         uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name       text NOT NULL CONSTRAINT organizations_name_key UNIQUE,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE @extschema@.users (
  id                uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  email             text NOT NULL,
  display_name      text,
  is_platform_admin boolean NOT NULL DEFAULT false,
  db_role           name CONSTRAINT users_db_role_key UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX users_email_key ON @extschema@.users (pg_catalog.lower(email));

CREATE TABLE @extschema@.memberships (
  user_id    uuid NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
  org_id     uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('org_admin', 'read_write', 'read_only')),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org_id_idx ON @extschema@.memberships (org_id);

-- No foreign keys to users/organizations: removing a user's or an
-- organization's keys is the worker's bounded job, never the deleting commit's.
-- verify() answers OWNER_INACTIVE from the moment the owner is gone.
CREATE TABLE @extschema@.api_keys (
  id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  lookup_id        text COLLATE "C" NOT NULL CONSTRAINT api_keys_lookup_id_key UNIQUE,
  kind             text NOT NULL CHECK (kind IN ('user', 'organization')),
  org_id           uuid NOT NULL,
  owner_id         uuid,
  created_by       uuid,
  created_by_label text NOT NULL,
  creator_deleted  boolean NOT NULL DEFAULT false,
  name             text NOT NULL,
  hint             text NOT NULL,
  secret_hash      bytea NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at       timestamptz,
  last_used_at     timestamptz,
  CHECK ((kind = 'user') = (owner_id IS NOT NULL))
);
CREATE INDEX api_keys_owner_idx ON @extschema@.api_keys (owner_id, id);
CREATE INDEX api_keys_org_idx ON @extschema@.api_keys (org_id, id);
CREATE INDEX api_keys_created_by_idx ON @extschema@.api_keys (created_by) WHERE kind = 'organization';

CREATE TABLE @extschema@.audit_log (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  actor_kind    text NOT NULL,
  actor_user_id uuid,
  actor_key_id  uuid,
  actor_db_role text,
  action        text NOT NULL,
  org_id        uuid,
  user_id       uuid,
  key_id        uuid,
  detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org_idx ON @extschema@.audit_log (org_id, id);

CREATE TABLE @extschema@.cascade_queue (
  id              bigserial PRIMARY KEY,
  event           text NOT NULL CHECK (event IN ('user_deleted', 'membership_removed',
                    'organization_deleted', 'role_changed', 'platform_admin_removed')),
  user_id         uuid,
  org_id          uuid,
  old_role        text,
  new_role        text,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  keys_done       bigint NOT NULL DEFAULT 0,
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  enqueued_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  started_at      timestamptz,
  finished_at     timestamptz,
  next_attempt_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  actor_kind      text NOT NULL,
  actor_user_id   uuid,
  actor_key_id    uuid,
  actor_db_role   text
);
CREATE INDEX cascade_queue_due_idx ON @extschema@.cascade_queue (id)
  WHERE state IN ('pending', 'running');

-- pg_dump keeps the data of every table (and the sequences behind them).
SELECT pg_catalog.pg_extension_config_dump('@extschema@.organizations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.users', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.memberships', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cascade_queue', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cascade_queue_id_seq', '');

-- ---------------------------------------------------------------- internal functions
-- RLS predicates: run as the querying role, so they must be executable by it.
-- Each answers only "may the current principal see this row?".

CREATE FUNCTION @extschema@._may_view_key(kind text, org_id uuid, owner_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_key';
CREATE FUNCTION @extschema@._may_view_organization(org_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_organization';
CREATE FUNCTION @extschema@._may_view_user(user_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_user';
CREATE FUNCTION @extschema@._may_manage_organization(org_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_manage_organization';
CREATE FUNCTION @extschema@._may_view_membership(user_id uuid, org_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_membership';
CREATE FUNCTION @extschema@._may_view_audit(org_id uuid, actor_user_id uuid, user_id uuid) RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_audit';
CREATE FUNCTION @extschema@._may_view_cascades() RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_may_view_cascades';

CREATE FUNCTION @extschema@._on_identity_change() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'insight_on_identity_change';
CREATE FUNCTION @extschema@._worker_loaded() RETURNS boolean
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'insight_worker_loaded';

CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE ON @extschema@.organizations
  FOR EACH ROW EXECUTE FUNCTION @extschema@._on_identity_change();
CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE ON @extschema@.users
  FOR EACH ROW EXECUTE FUNCTION @extschema@._on_identity_change();
CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE ON @extschema@.memberships
  FOR EACH ROW EXECUTE FUNCTION @extschema@._on_identity_change();

-- ---------------------------------------------------------------- public functions (fixed names)

CREATE FUNCTION @extschema@.whoami(
    OUT kind text, OUT via text, OUT user_id uuid, OUT org_id uuid, OUT key_id uuid,
    OUT role text, OUT platform_admin boolean, OUT scope text)
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_whoami';

CREATE FUNCTION @extschema@.act_as(user_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_act_as';
CREATE FUNCTION @extschema@.act_as(user_id uuid, scope text) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_act_as';
CREATE FUNCTION @extschema@.reset_principal() RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_reset_principal';

CREATE FUNCTION @extschema@.generate_user_key(
    org_id uuid, name text, expires_at timestamptz DEFAULT NULL,
    OUT key_id uuid, OUT api_key text)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_generate_user_key';
CREATE FUNCTION @extschema@.generate_org_key(
    org_id uuid, name text, expires_at timestamptz DEFAULT NULL,
    OUT key_id uuid, OUT api_key text)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_generate_org_key';

CREATE FUNCTION @extschema@.verify(
    api_key text,
    OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid,
    OUT user_id uuid, OUT role text, OUT expires_at timestamptz)
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'insight_verify';
CREATE FUNCTION @extschema@.authenticate(
    api_key text,
    OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid,
    OUT user_id uuid, OUT role text, OUT expires_at timestamptz)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_authenticate';
CREATE FUNCTION @extschema@.authenticate(
    api_key text, scope text,
    OUT valid boolean, OUT code text, OUT key_id uuid, OUT kind text, OUT org_id uuid,
    OUT user_id uuid, OUT role text, OUT expires_at timestamptz)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_authenticate';

CREATE FUNCTION @extschema@.revoke_key(key_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_revoke_key';

CREATE FUNCTION @extschema@.create_organization(name text) RETURNS uuid
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_create_organization';
CREATE FUNCTION @extschema@.delete_organization(org_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_delete_organization';
CREATE FUNCTION @extschema@.create_user(
    email text, display_name text DEFAULT NULL, platform_admin boolean DEFAULT false,
    db_role name DEFAULT NULL) RETURNS uuid
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_create_user';
CREATE FUNCTION @extschema@.set_membership(user_id uuid, org_id uuid, role text) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_set_membership';
CREATE FUNCTION @extschema@.remove_membership(user_id uuid, org_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_remove_membership';
CREATE FUNCTION @extschema@.set_platform_admin(user_id uuid, is_admin boolean) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_set_platform_admin';
CREATE FUNCTION @extschema@.delete_user(user_id uuid) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_delete_user';
CREATE FUNCTION @extschema@.apply_cascades() RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'insight_apply_cascades';

-- ---------------------------------------------------------------- row-level security

ALTER TABLE @extschema@.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.users FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.api_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.cascade_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.cascade_queue FORCE ROW LEVEL SECURITY;

-- SELECT policies only: no role but the owner (which bypasses RLS and is the
-- only one the extension's code runs as) can write, whatever it is granted.
CREATE POLICY organizations_visible ON @extschema@.organizations FOR SELECT
  USING (@extschema@._may_view_organization(id));
CREATE POLICY memberships_visible ON @extschema@.memberships FOR SELECT
  USING (@extschema@._may_view_membership(user_id, org_id));
CREATE POLICY users_visible ON @extschema@.users FOR SELECT
  USING (@extschema@._may_view_user(id)
         OR EXISTS (SELECT 1 FROM @extschema@.memberships m
                    WHERE m.user_id OPERATOR(pg_catalog.=) users.id
                      AND @extschema@._may_manage_organization(m.org_id)));
CREATE POLICY api_keys_visible ON @extschema@.api_keys FOR SELECT
  USING (@extschema@._may_view_key(kind, org_id, owner_id));
CREATE POLICY audit_log_visible ON @extschema@.audit_log FOR SELECT
  USING (@extschema@._may_view_audit(org_id, actor_user_id, user_id));
CREATE POLICY cascade_queue_visible ON @extschema@.cascade_queue FOR SELECT
  USING (@extschema@._may_view_cascades());

-- ---------------------------------------------------------------- views (fixed names)
-- security_invoker: the policies above apply to the querying role; that is the
-- enforcement. The same predicate in the view's WHERE only matters for
-- superusers, whom PostgreSQL exempts from RLS: a superuser session that
-- authenticates with a key or acts as a user then sees what that principal
-- sees (the operator, its default, sees everything either way).

CREATE VIEW @extschema@.keys WITH (security_invoker = true, security_barrier = true) AS
SELECT k.id AS key_id, k.kind, k.org_id, o.name AS org_name, k.owner_id,
       u.email AS owner_email, k.created_by, k.name, k.hint, k.created_at, k.expires_at,
       k.last_used_at, k.created_by_label, k.creator_deleted
  FROM @extschema@.api_keys k
  LEFT JOIN @extschema@.organizations o ON o.id OPERATOR(pg_catalog.=) k.org_id
  LEFT JOIN @extschema@.users u ON u.id OPERATOR(pg_catalog.=) k.owner_id
 WHERE @extschema@._may_view_key(k.kind, k.org_id, k.owner_id);

CREATE VIEW @extschema@.audit WITH (security_invoker = true, security_barrier = true) AS
SELECT id, at, actor_kind, actor_user_id, actor_key_id, actor_db_role, action, org_id,
       user_id, key_id, detail
  FROM @extschema@.audit_log
 WHERE @extschema@._may_view_audit(org_id, actor_user_id, user_id);

CREATE VIEW @extschema@.cascades WITH (security_invoker = true, security_barrier = true) AS
SELECT id, event, user_id, org_id, old_role, new_role, state, keys_done, attempts, last_error,
       enqueued_at, started_at, finished_at, next_attempt_at, actor_kind, actor_user_id,
       actor_key_id
  FROM @extschema@.cascade_queue
 WHERE @extschema@._may_view_cascades();

-- ---------------------------------------------------------------- grants

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- Readable columns under forced RLS; secret_hash and lookup_id are never granted.
GRANT SELECT (id, name, created_at) ON @extschema@.organizations TO PUBLIC;
GRANT SELECT (id, email, display_name, is_platform_admin, db_role, created_at)
  ON @extschema@.users TO PUBLIC;
GRANT SELECT (user_id, org_id, role, created_at, updated_at) ON @extschema@.memberships TO PUBLIC;
GRANT SELECT (id, kind, org_id, owner_id, created_by, created_by_label, creator_deleted, name,
              hint, created_at, expires_at, last_used_at)
  ON @extschema@.api_keys TO PUBLIC;
GRANT SELECT ON @extschema@.audit_log, @extschema@.cascade_queue TO PUBLIC;
GRANT SELECT ON @extschema@.keys, @extschema@.audit, @extschema@.cascades TO PUBLIC;

GRANT EXECUTE ON FUNCTION
  @extschema@._may_view_key(text, uuid, uuid),
  @extschema@._may_view_organization(uuid),
  @extschema@._may_view_user(uuid),
  @extschema@._may_manage_organization(uuid),
  @extschema@._may_view_membership(uuid, uuid),
  @extschema@._may_view_audit(uuid, uuid, uuid),
  @extschema@._may_view_cascades(),
  @extschema@.whoami(),
  @extschema@.act_as(uuid),
  @extschema@.act_as(uuid, text),
  @extschema@.reset_principal(),
  @extschema@.generate_user_key(uuid, text, timestamptz),
  @extschema@.generate_org_key(uuid, text, timestamptz),
  @extschema@.verify(text),
  @extschema@.authenticate(text),
  @extschema@.authenticate(text, text),
  @extschema@.revoke_key(uuid),
  @extschema@.create_organization(text),
  @extschema@.delete_organization(uuid),
  @extschema@.create_user(text, text, boolean, name),
  @extschema@.set_membership(uuid, uuid, text),
  @extschema@.remove_membership(uuid, uuid),
  @extschema@.set_platform_admin(uuid, boolean),
  @extschema@.delete_user(uuid),
  @extschema@.apply_cascades()
  TO PUBLIC;

DO $notice$
BEGIN
  IF NOT @extschema@._worker_loaded() THEN
    RAISE WARNING 'insight_keys: the cascade worker is not running'
      USING HINT = 'Add insight_keys to shared_preload_libraries and restart; until then cascades wait in insight.cascades for insight.apply_cascades().';
  END IF;
END
$notice$;
