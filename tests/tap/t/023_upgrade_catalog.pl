# Upgrades: CREATE EXTENSION insight_keys VERSION '1.0' followed by ALTER
# EXTENSION insight_keys UPDATE yields exactly the catalog of a fresh
# CREATE EXTENSION insight_keys (functions with signatures, SECURITY DEFINER,
# settings and privileges; relations, columns and their grants; views;
# policies; triggers; indexes; constraints; dump configuration), and a
# database that held data under 1.0 keeps working after the update.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InsightCatalog qw(catalog_text);

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded_with_data');

$node->safe_psql('fresh', 'CREATE EXTENSION insight_keys CASCADE');
is($node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'insight_keys'"),
  '1.4', 'a fresh install is at the default version 1.4');

$node->safe_psql('upgraded', "CREATE EXTENSION insight_keys VERSION '1.0' CASCADE");
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'insight_keys'"),
  '1.0', 'VERSION 1.0 installs 1.0');
is($node->safe_psql('upgraded', "SELECT string_agg(target, ',' ORDER BY target) FROM pg_extension_update_paths('insight_keys') WHERE source = '1.0' AND path IS NOT NULL"),
  '1.1,1.2,1.3,1.4', 'the update paths from 1.0 lead to 1.1, 1.2, 1.3 and 1.4');
$node->safe_psql('upgraded', 'ALTER EXTENSION insight_keys UPDATE');
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'insight_keys'"),
  '1.4', 'ALTER EXTENSION UPDATE reaches 1.4');

my $fresh = catalog_text($node, 'fresh');
my $upgraded = catalog_text($node, 'upgraded');

# The comparison must be about something: each kind of fact is present.
for my $kind (qw(function relation column view policy trigger index index_column constraint sequence config_dump member extension schema)) {
  my $n = () = $fresh =~ /^\Q$kind\E /mg;
  ok($n > 0, "the fresh catalog has $n facts of kind $kind");
}
like($fresh, qr/^function insight\.verify\(text\) .* acl=.*PUBLIC=EXECUTE/m,
  'verify(text) is listed with its privileges');
like($fresh, qr/^column insight\.api_keys\.secret_hash .* acl=-$/m,
  'secret_hash is listed without any column grant');

is($upgraded, $fresh, 'catalog after 1.0 + UPDATE equals a fresh 1.4 install');
like($fresh, qr/^relation insight\.cache_inval_keys /m,
  'the invalidation relation insight.cache_inval_keys is part of the catalog');
like($fresh, qr/^relation insight\.cache_inval_key_rows /m,
  'the invalidation relation insight.cache_inval_key_rows is part of the catalog');

# Every later release -> 1.4 as well. Each lacks the relation the next one
# added (none for 1.1, which predates both).
my %lacks = ('1.2' => 'cache_inval_keys', '1.3' => 'cache_inval_key_rows');
for my $from (qw(1.1 1.2 1.3)) {
  (my $db = "from_$from") =~ s/\./_/g;
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  $node->safe_psql($db, "CREATE EXTENSION insight_keys VERSION '$from' CASCADE");
  if (my $rel = $lacks{$from}) {
    is($node->safe_psql($db, "SELECT count(*) FROM pg_class WHERE relname = '$rel'"),
      '0', "$from has no relation $rel");
  }
  $node->safe_psql($db, 'ALTER EXTENSION insight_keys UPDATE');
  is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'insight_keys'"),
    '1.4', "ALTER EXTENSION UPDATE from $from reaches 1.4");
  is(catalog_text($node, $db), $fresh, "catalog after $from + UPDATE equals a fresh 1.4 install");
}

# A session that resolved its relations under an older catalog keeps
# honouring every revocation: before the update (the triggers of 1.2
# invalidate the changed table, those of 1.3 insight.cache_inval_keys) and
# after another session updated the catalog to 1.4 (the row trigger now
# signals insight.cache_inval_key_rows, a relation this session had not seen).
for my $from (qw(1.2 1.3)) {
  (my $db = "live_$from") =~ s/\./_/g;
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  $node->safe_psql($db, "CREATE EXTENSION insight_keys VERSION '$from' CASCADE");
  my %live_key;
  $node->safe_psql($db, q{
    CREATE TABLE public.live_keys (name text PRIMARY KEY, key_id uuid, api_key text);
    WITH o AS (SELECT insight.create_organization('live') AS id)
    INSERT INTO public.live_keys
    SELECT n, g.key_id, g.api_key FROM o, unnest(ARRAY['one', 'two', 'three', 'four']) n,
           LATERAL insight.generate_org_key(o.id, 'live ' || n) g;
  });
  for my $row (split /\n/, $node->safe_psql($db, 'SELECT name, key_id, api_key FROM public.live_keys')) {
    my ($name, $id, $key) = split /\|/, $row;
    $live_key{$name} = [$id, $key];
  }
  my $live = $node->background_psql($db);
  for my $name (qw(one two three four)) {
    is($live->query_safe("SELECT code FROM insight.verify('$live_key{$name}[1]')"), 'VALID',
      "long-lived session under $from: key $name VALID (and cached)");
  }
  $node->safe_psql($db, "SELECT insight.revoke_key('$live_key{one}[0]')");
  is($live->query_safe("SELECT code FROM insight.verify('$live_key{one}[1]')"), 'NOT_FOUND',
    "long-lived session under $from: a revocation by another session is seen");
  $node->safe_psql($db, 'ALTER EXTENSION insight_keys UPDATE');
  # The revocation above cleared this session's cache: these are cached
  # again, after the update.
  for my $name (qw(two three four)) {
    is($live->query_safe("SELECT code FROM insight.verify('$live_key{$name}[1]')"), 'VALID',
      "long-lived session after the update from $from to 1.4: key $name VALID (and cached again)");
  }
  is($live->query_safe('SELECT entries FROM insight.verify_cache_status()'), '3',
    "long-lived session after the update from $from to 1.4: all three are in its cache");
  $node->safe_psql($db, "SELECT insight.revoke_key('$live_key{two}[0]')");
  is($live->query_safe("SELECT code FROM insight.verify('$live_key{two}[1]')"), 'NOT_FOUND',
    "long-lived session after the update from $from to 1.4: a revocation by another session is seen");
  is($live->query_safe("SELECT code FROM insight.verify('$live_key{three}[1]')"), 'VALID',
    "long-lived session after the update from $from to 1.4: the other key is untouched");
  # Now that the session knows the narrow signal, a second revocation takes
  # only that key out of its cache.
  $node->safe_psql($db, "SELECT insight.revoke_key('$live_key{three}[0]')");
  is($live->query_safe("SELECT code FROM insight.verify('$live_key{three}[1]')"), 'NOT_FOUND',
    "long-lived session after the update from $from to 1.4: a second revocation is seen");
  is($live->query_safe("SELECT code FROM insight.verify('$live_key{four}[1]')"), 'VALID',
    "long-lived session after the update from $from to 1.4: key four VALID");
  $live->quit;
}

# Per kind as well, so that a failure names what differs.
for my $kind (qw(function relation column view policy trigger index index_column constraint config_dump member)) {
  my @f = grep { /^\Q$kind\E / } split /\n/, $fresh;
  my @u = grep { /^\Q$kind\E / } split /\n/, $upgraded;
  is(join("\n", @u), join("\n", @f), "facts of kind $kind are the same after the update");
}

# Data created under 1.0 survives the update and keeps working.
$node->safe_psql('upgraded_with_data', "CREATE EXTENSION insight_keys VERSION '1.0' CASCADE");
$node->safe_psql('upgraded_with_data', q{
  CREATE ROLE upg_alice LOGIN;
  CREATE TABLE public.ids (name text PRIMARY KEY, id uuid);
  GRANT SELECT ON public.ids TO PUBLIC;
  INSERT INTO public.ids VALUES ('acme', insight.create_organization('acme'));
  INSERT INTO public.ids VALUES ('alice', insight.create_user('alice@example.com', 'Alice', false, 'upg_alice'));
  SELECT insight.set_membership((SELECT id FROM public.ids WHERE name = 'alice'),
                                (SELECT id FROM public.ids WHERE name = 'acme'), 'read_write');
});
my ($key_id, $key) = split /\|/, $node->safe_psql('upgraded_with_data', q{
  SET ROLE upg_alice;
  SELECT key_id, api_key FROM insight.generate_user_key((SELECT id FROM public.ids WHERE name = 'acme'), 'before update');
});
my ($org_key_id, $org_key) = split /\|/, $node->safe_psql('upgraded_with_data', q{
  SELECT key_id, api_key FROM insight.generate_org_key((SELECT id FROM public.ids WHERE name = 'acme'), 'org before update');
});
is($node->safe_psql('upgraded_with_data', "SELECT code FROM insight.verify('$key')"), 'VALID', 'user key valid under 1.0');
# Statistics gathered before the update (names, e-mails, ids a stranger could
# probe through EXPLAIN) are gone after it, and ANALYZE gathers none again.
my $stats = q{SELECT count(*) FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid
               WHERE c.relnamespace = 'insight'::regnamespace};
$node->safe_psql('upgraded_with_data', 'ANALYZE insight.organizations, insight.users, insight.memberships, insight.api_keys');
ok($node->safe_psql('upgraded_with_data', $stats) > 0, 'ANALYZE under 1.0 stores statistics on the base tables');
$node->safe_psql('upgraded_with_data', 'ALTER EXTENSION insight_keys UPDATE');
is($node->safe_psql('upgraded_with_data', $stats), '0', 'the update removes them');
$node->safe_psql('upgraded_with_data', 'ANALYZE insight.organizations, insight.users, insight.memberships, insight.api_keys');
is($node->safe_psql('upgraded_with_data', $stats), '0', 'and ANALYZE after the update stores none');
is($node->safe_psql('upgraded_with_data', "SELECT code || ' ' || kind || ' ' || role FROM insight.verify('$key')"),
  'VALID user read_write', 'user key still valid after the update');
is($node->safe_psql('upgraded_with_data', "SELECT code || ' ' || kind || ' ' || role FROM insight.verify('$org_key')"),
  'VALID organization org_admin', 'organization key still valid after the update');
is($node->safe_psql('upgraded_with_data', "SET ROLE upg_alice; SELECT string_agg(name, ',' ORDER BY name) FROM insight.keys"),
  'before update', 'the mapped role sees its own key, and only it, after the update');
is($node->safe_psql('upgraded_with_data', q{
  BEGIN;
  SELECT 1 FROM insight.authenticate('} . $key . q{');
  SELECT kind || ' ' || via || ' ' || role FROM insight.whoami();
  COMMIT;}), "1\nuser api_key read_write", 'authenticate works after the update');
$node->safe_psql('upgraded_with_data', "SELECT insight.revoke_key('$key_id')");
is($node->safe_psql('upgraded_with_data', "SELECT code FROM insight.verify('$key')"), 'NOT_FOUND',
  'revocation works after the update');
is(catalog_text($node, 'upgraded_with_data'), $fresh, 'and its catalog equals a fresh install too');

$node->safe_psql('upgraded_with_data', 'DROP EXTENSION insight_keys');
$node->safe_psql('upgraded_with_data', 'DROP ROLE upg_alice');
$node->stop;
done_testing();
