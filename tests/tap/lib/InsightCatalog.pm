# The catalog of the installed insight_keys as sorted text, one line per fact,
# so that two databases can be compared with is(): functions (signature,
# result, security definer, settings, privileges, C symbol), relations
# (kind, options, RLS flags, privileges, columns with types, defaults,
# statistics targets and column privileges), view definitions, policies, triggers, indexes,
# constraints, sequences, dump configuration and the extension's members.
package InsightCatalog;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(catalog_text);

my $members = q{
  SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'insight_keys'
};

my $acl = q{
  (SELECT coalesce(string_agg(coalesce(g.rolname, 'PUBLIC') || '=' || a.privilege_type
                              || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ','
                              ORDER BY coalesce(g.rolname, 'PUBLIC'), a.privilege_type), '-')
     FROM aclexplode(%s) a LEFT JOIN pg_roles g ON g.oid = a.grantee)
};

my @queries = (
  # functions
  qq{SELECT 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)
          || ' kind=' || p.prokind::text || ' secdef=' || p.prosecdef || ' strict=' || p.proisstrict
          || ' volatile=' || p.provolatile::text || ' parallel=' || p.proparallel::text
          || ' leakproof=' || p.proleakproof || ' lang=' || l.lanname
          || ' config=' || coalesce(p.proconfig::text, '-')
          || ' src=' || CASE WHEN l.lanname = 'c' THEN p.prosrc ELSE md5(p.prosrc) END
          || ' args=' || pg_get_function_arguments(p.oid)
          || ' acl=' || } . sprintf($acl, 'coalesce(p.proacl, acldefault(\'f\', p.proowner))') . q{
     FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.oid IN (SELECT objid FROM members WHERE classid = 'pg_proc'::regclass)},
  # relations
  qq{SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text
          || ' options=' || coalesce(c.reloptions::text, '-')
          || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
          || ' persistence=' || c.relpersistence::text
          || ' acl=' || } . sprintf($acl, 'coalesce(c.relacl, acldefault(CASE c.relkind WHEN \'S\' THEN \'s\' ELSE \'r\' END::"char", c.relowner))') . q{
     FROM pg_class c WHERE c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # columns
  qq{SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' #' || a.attnum
          || ' ' || format_type(a.atttypid, a.atttypmod)
          || ' notnull=' || a.attnotnull || ' collation=' || coalesce(co.collname, '-')
          || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-')
          || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
          || ' stattarget=' || coalesce(a.attstattarget::text, '-')
          || ' acl=' || } . sprintf($acl, 'a.attacl') . q{
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
     LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
    WHERE c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # views
  q{SELECT 'view ' || c.oid::regclass || ' ' || regexp_replace(pg_get_viewdef(c.oid, true), '\s+', ' ', 'g')
     FROM pg_class c
    WHERE c.relkind IN ('v', 'm') AND c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # policies
  q{SELECT 'policy ' || p.polrelid::regclass || '.' || p.polname || ' cmd=' || p.polcmd::text
          || ' permissive=' || p.polpermissive || ' roles=' || p.polroles::regrole[]::text
          || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
          || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
     FROM pg_policy p WHERE p.polrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # triggers
  q{SELECT 'trigger ' || t.tgrelid::regclass || '.' || t.tgname || ' enabled=' || t.tgenabled::text
          || ' ' || pg_get_triggerdef(t.oid)
     FROM pg_trigger t
    WHERE NOT t.tgisinternal AND t.tgrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # indexes
  q{SELECT 'index ' || pg_get_indexdef(i.indexrelid)
     FROM pg_index i WHERE i.indrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # statistics targets of index columns (an expression index has its own)
  q{SELECT 'index_column ' || i.indexrelid::regclass || ' #' || a.attnum
          || ' stattarget=' || coalesce(a.attstattarget::text, '-')
     FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indexrelid
    WHERE i.indrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # constraints
  q{SELECT 'constraint ' || c.conrelid::regclass || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
     FROM pg_constraint c WHERE c.conrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # sequences
  q{SELECT 'sequence ' || s.seqrelid::regclass || ' type=' || s.seqtypid::regtype || ' start=' || s.seqstart
          || ' inc=' || s.seqincrement || ' max=' || s.seqmax || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
     FROM pg_sequence s WHERE s.seqrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)},
  # dump configuration
  q{SELECT 'config_dump ' || cfg::regclass || ' where=' || coalesce(cond, '-')
     FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(cfg, cond)
    WHERE e.extname = 'insight_keys'},
  # everything the extension owns, and the extension itself
  q{SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members},
  q{SELECT 'extension ' || e.extname || ' version=' || e.extversion || ' relocatable=' || e.extrelocatable
          || ' schema=' || e.extnamespace::regnamespace
          || ' requires=' || (SELECT string_agg(r.extname, ',' ORDER BY r.extname)
                                FROM pg_depend d JOIN pg_extension r ON r.oid = d.refobjid
                               WHERE d.classid = 'pg_extension'::regclass AND d.objid = e.oid
                                 AND d.refclassid = 'pg_extension'::regclass)
     FROM pg_extension e WHERE e.extname = 'insight_keys'},
  # the schema
  qq{SELECT 'schema ' || n.nspname || ' owner=' || n.nspowner::regrole || ' acl=' || } . sprintf($acl, 'n.nspacl') . q{
     FROM pg_namespace n WHERE n.nspname = 'insight'},
);

# Returns the catalog of database $db on $node as one string, sorted.
sub catalog_text {
  my ($node, $db) = @_;
  my $sql = "WITH members AS ($members) SELECT regexp_replace(line, '\\s+', ' ', 'g') AS line FROM ("
    . join(' UNION ALL ', map { "SELECT x.* FROM ($_) AS x(line)" } @queries)
    . ") s ORDER BY line COLLATE \"C\"";
  return $node->safe_psql($db, $sql);
}

1;
