# last_used_at: verify() records uses in shared memory only (it never writes a
# table), and the cascade worker flushes them to insight.api_keys every
# insight.last_used_flush_interval, without anyone calling flush_last_used().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('last_used');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.last_used_flush_interval = 86400
insight.cascade_naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION insight_keys CASCADE');
my $org = $node->safe_psql('postgres', q{SELECT insight.create_organization('acme')});
my ($used, $unused) = split /\n/, $node->safe_psql('postgres', qq{
SELECT insight.create_user('u\@acme.test', platform_admin => true) AS u \\gset
BEGIN;
SELECT insight.act_as(:'u') \\g /dev/null
SELECT api_key FROM insight.generate_user_key('$org', 'used');
SELECT api_key FROM insight.generate_user_key('$org', 'unused');
COMMIT;
});

is($node->safe_psql('postgres', q{SELECT count(*) FROM insight.api_keys WHERE last_used_at IS NOT NULL}),
	'0', 'no key has been used yet');

# verify in a read-only transaction: it cannot write, yet the use is recorded.
# The count is read in the same snapshot (the worker flushes every second and
# may well have written the use by the time a later statement looks).
is($node->safe_psql('postgres', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT code FROM insight.verify('$used');
SELECT count(*) FROM insight.api_keys WHERE last_used_at IS NOT NULL;
COMMIT;
}), "VALID\n0", 'the key verifies inside a read-only transaction, and verify itself wrote nothing');
ok($node->safe_psql('postgres', 'SELECT last_used_pending + last_used_flushed FROM insight.stats') >= 1,
	'the use is recorded in shared memory (or already written by the worker)');

# Only now may the worker flush: with a short interval from the start, its
# first flush could fall between the verify and the check above.
$node->safe_psql('postgres', q{ALTER SYSTEM SET insight.last_used_flush_interval = 1; SELECT pg_reload_conf();});

# The worker flushes within the interval; wait for it (bounded), no flush by hand.
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM insight.api_keys WHERE name = 'used' AND last_used_at IS NOT NULL}),
	'the worker flushed the use to insight.api_keys.last_used_at');
is($node->safe_psql('postgres', q{
SELECT name FROM insight.api_keys WHERE last_used_at IS NOT NULL ORDER BY name}),
	'used', 'only the used key has a last use');
is($node->safe_psql('postgres', q{
SELECT last_used_at >= created_at AND last_used_at <= now() FROM insight.api_keys WHERE name = 'used'}),
	't', 'the recorded time lies between creation and now');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM insight.audit_log WHERE detail::text LIKE '%ik\_%'}),
	'0', 'no key material in the audit trail');

$node->stop;
done_testing();
