# The shared table of recorded key uses (insight.stats.last_used_pending)
# forgets a database's uses when nobody can write them any more: at the
# commit of DROP EXTENSION insight_keys, after DROP DATABASE, and, where no
# worker runs, once they are insight.last_used_flush_interval x 10 old. Without
# that they stayed until the table was full and new uses were dropped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pending = 'SELECT last_used_pending FROM insight.stats';
my $setup = q{
CREATE EXTENSION insight_keys CASCADE;
SELECT insight.create_organization('acme') AS org \gset
CREATE TABLE public.k AS SELECT * FROM insight.generate_org_key(:'org', 'a')
  UNION ALL SELECT * FROM insight.generate_org_key(:'org', 'b');
SELECT count(*) FROM public.k, insight.verify(k.api_key) v WHERE v.code = 'VALID';
};

# ---- with workers, which flush only once an hour here
my $node = PostgreSQL::Test::Cluster->new('last_used_purge');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.last_used_flush_interval = 3600
insight.cascade_naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('postgres', 'CREATE DATABASE two');
$node->safe_psql('postgres', 'CREATE EXTENSION insight_keys CASCADE');

is($node->safe_psql('one', $setup), '2', 'one: two keys verified');
is($node->safe_psql('two', $setup), '2', 'two: two keys verified');
is($node->safe_psql('postgres', $pending), '4', 'four uses wait to be written');

# Rolled back: nothing is forgotten.
$node->safe_psql('one', 'BEGIN; DROP EXTENSION insight_keys CASCADE; ROLLBACK;');
is($node->safe_psql('postgres', $pending), '4', 'a rolled-back DROP EXTENSION forgets nothing');
$node->safe_psql('one', 'DROP EXTENSION insight_keys CASCADE');
is($node->safe_psql('postgres', $pending), '2', 'DROP EXTENSION forgets that database\'s uses at commit');

$node->safe_psql('postgres', 'DROP DATABASE two');
is($node->safe_psql('postgres', $pending), '0', 'DROP DATABASE forgets that database\'s uses');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname = 'two'}), '0',
  'and the database is gone (its worker was stopped through its handle)');
$node->stop;

# ---- no worker can start (max_worker_processes leaves room for the launcher
# only): nobody writes the uses, so they are forgotten once old.
my $bare = PostgreSQL::Test::Cluster->new('last_used_no_worker');
$bare->init;
$bare->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
max_worker_processes = 1
max_logical_replication_workers = 0
max_parallel_workers = 0
insight.last_used_flush_interval = 1
insight.cascade_naptime = 1
});
$bare->start;
$bare->safe_psql('postgres', 'CREATE DATABASE three');
is($bare->safe_psql('three', $setup . $pending), "2\n2", 'three: two uses recorded, no worker');
ok($bare->poll_query_until('three', "SELECT ($pending) = 0"),
  'the launcher forgets uses nobody wrote for ten flush intervals');
is($bare->safe_psql('three', 'SELECT count(*) FROM insight.api_keys WHERE last_used_at IS NOT NULL'), '0',
  'they were forgotten, not written');
is($bare->safe_psql('postgres',
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker'"), '0',
  'indeed no cascade worker ran');
$bare->stop;
done_testing();
