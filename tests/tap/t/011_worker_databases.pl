# One cascade worker per database that has insight_keys: a database that
# installs the extension later gets its own worker without a restart and
# cascades there; DROP EXTENSION and DROP DATABASE let the worker go.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_databases');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.cascade_naptime = 1
});
$node->start;

sub workers_in {
  my ($db) = @_;
  return "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = '$db'";
}

$node->poll_query_until('postgres',
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'insight_keys launcher' AND datname IS NULL")
  or die 'no launcher';
pass('the launcher runs on shared catalogs, backend_type "insight_keys launcher"');

my $setup = q{
CREATE EXTENSION insight_keys CASCADE;
CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO public.ids VALUES
  ('org1', insight.create_organization('org one')),
  ('org2', insight.create_organization('org two')),
  ('alice', insight.create_user('alice@example.com')),
  ('bob', insight.create_user('bob@example.com'));
CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS
$$SELECT id FROM public.ids WHERE name = $1$$;
SELECT insight.set_membership(public.id(u), public.id(o), 'read_write')
  FROM unnest(ARRAY['alice', 'bob']) u, unnest(ARRAY['org1', 'org2']) o;
INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by_label, name, hint, secret_hash)
SELECT md5(u || o || g), 'user', public.id(o), public.id(u), u, u || g, 'hint', '\x00'
  FROM unnest(ARRAY['alice', 'bob']) u, unnest(ARRAY['org1', 'org2']) o, generate_series(1, 1500) g;
};

# ---- first database
$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('one', $setup);
$node->poll_query_until('postgres', 'SELECT (' . workers_in('one') . ') = 1') or die 'no worker in one';
pass('CREATE EXTENSION starts a worker, backend_type "insight_keys cascade worker"');
is($node->safe_psql('postgres', workers_in('postgres')), '0', 'no worker where the extension is not installed');

$node->safe_psql('one', q{SELECT insight.delete_user(public.id('alice'))});
$node->poll_query_until('one', q{SELECT state = 'done' FROM insight.cascade_queue WHERE event = 'user_deleted'})
  or die 'no cascade in one';
is($node->safe_psql('one', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('alice')}),
  '0', 'one: the deleted user\'s keys in every organization are gone');
is($node->safe_psql('one', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bob')}),
  '3000', 'one: nobody else\'s keys are touched');

$node->safe_psql('one', q{SELECT insight.delete_organization(public.id('org2'))});
$node->poll_query_until('one', q{SELECT state = 'done' FROM insight.cascade_queue WHERE event = 'organization_deleted'})
  or die 'no organization cascade in one';
is($node->safe_psql('one', q{SELECT count(*) FROM insight.api_keys WHERE org_id = public.id('org2')}),
  '0', 'one: the deleted organization\'s keys are gone');
is($node->safe_psql('one', q{SELECT count(*) FROM insight.memberships WHERE org_id = public.id('org2')}),
  '0', 'one: and its memberships');
is($node->safe_psql('one', q{SELECT count(*) FROM insight.api_keys WHERE org_id = public.id('org1')}),
  '1500', 'one: the other organization keeps its keys');

# ---- a database created later, without a restart
my ($ret, $stdout, $stderr);
my $launcher = $node->safe_psql('postgres',
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'insight_keys launcher'");
$node->safe_psql('postgres', 'CREATE DATABASE two');
$node->safe_psql('two', $setup);
$node->poll_query_until('postgres', 'SELECT (' . workers_in('two') . ') = 1') or die 'no worker in two';
pass('a database created later gets its own worker');
is($node->safe_psql('postgres', workers_in('one')), '1', 'the first database keeps its worker');
is($node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'insight_keys launcher'"),
  $launcher, 'same launcher: no restart');

$node->safe_psql('two', q{SELECT insight.remove_membership(public.id('bob'), public.id('org1'))});
$node->poll_query_until('two', q{SELECT state = 'done' FROM insight.cascade_queue WHERE event = 'membership_removed'})
  or die 'no cascade in two';
is($node->safe_psql('two', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bob') AND org_id = public.id('org1')}),
  '0', 'two: the removed membership\'s keys are gone');
is($node->safe_psql('two', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bob') AND org_id = public.id('org2')}),
  '1500', 'two: the user\'s keys in the other organization stay');
is($node->safe_psql('two', 'SELECT count(*) FROM insight.api_keys'), '4500', 'two: nothing else is touched');
is($node->safe_psql('one', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bob')}),
  '1500', 'one: untouched by the cascade in two');

# ---- DROP EXTENSION lets the worker go; CREATE EXTENSION brings it back
$node->safe_psql('one', 'DROP EXTENSION insight_keys');
$node->poll_query_until('postgres', 'SELECT (' . workers_in('one') . ') = 0') or die 'the worker stayed after DROP EXTENSION';
pass('DROP EXTENSION lets the worker go');
is($node->safe_psql('postgres', workers_in('two')), '1', 'the other database keeps its worker');
$node->safe_psql('one', 'CREATE EXTENSION insight_keys');
$node->poll_query_until('postgres', 'SELECT (' . workers_in('one') . ') = 1') or die 'no worker after CREATE EXTENSION again';
pass('CREATE EXTENSION again starts a worker again');

# ---- statements that need a database without connections work although a
# worker is connected: it is asked to leave and comes back afterwards
($ret, $stdout, $stderr) = $node->psql('postgres', 'ALTER DATABASE one RENAME TO uno');
is($ret, 0, 'ALTER DATABASE RENAME succeeds while the database has a worker');
$node->poll_query_until('postgres', 'SELECT (' . workers_in('uno') . ') = 1') or die 'no worker after the rename';
pass('the renamed database has its worker back');
($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE DATABASE copy TEMPLATE uno');
is($ret, 0, 'CREATE DATABASE ... TEMPLATE a database with a worker succeeds');
$node->poll_query_until('postgres', 'SELECT (' . workers_in('copy') . ') = 1') or die 'no worker in the copy';
pass('the copy, which has the extension, gets its own worker');
$node->poll_query_until('postgres', 'SELECT (' . workers_in('uno') . ') = 1') or die 'no worker back in the template';
pass('and the template database gets its worker back');

# ---- DROP DATABASE succeeds although a worker is connected, without FORCE
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE two');
is($ret, 0, 'DROP DATABASE succeeds while the database has a worker');
is($stderr, '', 'with no error');
is($node->safe_psql('postgres', workers_in('two')), '0', 'its worker is gone');
is($node->safe_psql('postgres', workers_in('uno')), '1', 'the other worker stays');

$node->stop;
done_testing();
