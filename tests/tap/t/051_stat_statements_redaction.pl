# pg_stat_statements never stores a key, whichever of the two libraries comes
# first in shared_preload_libraries. It stores a statement's text at parse
# analysis (normalized, constants as $n), and verbatim after a utility
# statement (DO, EXPLAIN, COPY, DECLARE CURSOR, CREATE TABLE AS, CALL, SET)
# and at ExecutorEnd when the entry was evicted while the statement ran (a
# small pg_stat_statements.max). insight_keys masks the client's statement
# text in place (same length) before any of these reads it
# (docs/SECURITY.md, "Statement texts").
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $masked = qr/ik_user_\w{4}\*+/;

for my $order ('insight_keys,pg_stat_statements', 'pg_stat_statements,insight_keys') {
	my $node = PostgreSQL::Test::Cluster->new($order =~ /^insight/ ? 'insight_first' : 'pgss_first');
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$order'
pg_stat_statements.max = 100
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
pg_stat_statements.track_planning = on
});
	$node->start;
	my $sql = sub { return $node->safe_psql('postgres', $_[0], extra_params => ['-U', $_[1] // 'postgres']); };

	$sql->(q{CREATE EXTENSION insight_keys CASCADE; CREATE EXTENSION pg_stat_statements; CREATE ROLE alice LOGIN});
	my $org = $sql->(q{SELECT insight.create_organization('Acme')});
	my $alice = $sql->(q{SELECT insight.create_user('alice@example.com', 'Alice', false, 'alice')});
	$sql->(qq{SELECT insight.set_membership('$alice', '$org', 'org_admin')});
	my $key = $sql->(qq{SELECT api_key FROM insight.generate_user_key('$org', 'k')}, 'alice');
	like($key, qr/^ik_user_\w{66}$/, "$order: a user key");

	# Runs n statements of distinct texts (nested utility statements, tracked
	# with track = all; short, so the texts file is not garbage-collected):
	# far more than pg_stat_statements.max, so the entry of the statement that
	# calls it is evicted while that statement runs.
	$sql->(q{CREATE FUNCTION churn(n int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN
			FOR i IN 1 .. n LOOP
				EXECUTE pg_catalog.format('SET LOCAL app.churn = %s', i);
			END LOOP;
			RETURN n;
		END $$;
		CREATE PROCEDURE check_key(k text) LANGUAGE plpgsql AS $$
		BEGIN
			IF (SELECT code FROM insight.verify(k)) <> 'VALID' THEN RAISE EXCEPTION 'not valid'; END IF;
		END $$;
		SELECT pg_stat_statements_reset()});

	my $secret = substr($key, 25, 43);
	my $texts = sub { return $sql->(q{SELECT pg_catalog.string_agg(query, E'\n') FROM pg_stat_statements}); };
	my $tmp = PostgreSQL::Test::Utils::tempdir;
	my @pgbench = ('pgbench', '-n', '-M', 'extended', '-t', '1', '-h', $node->host, '-p', $node->port);

	# Eviction: the simple protocol, and the extended protocol with the key
	# inlined in the statement text (pgbench sends the script's text as is).
	is($sql->(qq{SELECT v.code, churn(500) FROM insight.verify('$key') v}), 'VALID|500',
		"$order: a SELECT whose entry is evicted while it runs");
	PostgreSQL::Test::Utils::append_to_file("$tmp/evict.sql",
		qq{SELECT v.code, churn(500) AS extended FROM insight.verify('$key') v;\n});
	$node->command_ok([@pgbench, '-f', "$tmp/evict.sql", 'postgres'], "$order: the same over the extended protocol");
	# The entry created again at ExecutorEnd is evicted in turn by the next
	# statements (its usage is low), so read every text pg_stat_statements
	# stored, live or evicted, from its texts file.
	my $stored = slurp_file($node->data_dir . '/pg_stat_tmp/pgss_query_texts.stat');
	$stored =~ s/\0/\n/g;
	ok($sql->(q{SELECT dealloc FROM pg_stat_statements_info}) > 0, "$order: entries were evicted");
	is(index($stored, $key), -1, "$order: no key in any text pg_stat_statements stored");
	is(index($stored, $secret), -1, "$order: no secret in any text pg_stat_statements stored");
	# A verbatim (not normalized) text of the evicted statement shows that its
	# entry was created again at ExecutorEnd, from the masked text.
	like($stored, qr/^SELECT v\.code, churn\(500\) FROM insight\.verify\('$masked'\) v$/m,
		"$order: the evicted SELECT is stored again, masked");
	like($stored, qr/^SELECT v\.code, churn\(500\) AS extended FROM insight\.verify\('$masked'\) v$/m,
		"$order: the evicted extended-protocol SELECT is stored again, masked");

	# Utility statements, stored verbatim: each must still do what it says.
	$sql->(q{SELECT pg_stat_statements_reset()});
	$sql->(qq{DO \$\$BEGIN PERFORM insight.verify('$key'); END\$\$});
	like($sql->(qq{EXPLAIN SELECT code FROM insight.verify('$key')}), qr/Function Scan/, "$order: EXPLAIN");
	is($sql->(qq{COPY (SELECT code FROM insight.verify('$key')) TO STDOUT}), 'VALID', "$order: COPY");
	is($sql->(qq{BEGIN; DECLARE c CURSOR FOR SELECT code FROM insight.verify('$key'); FETCH c; COMMIT}), 'VALID',
		"$order: DECLARE CURSOR");
	$sql->(qq{CREATE TABLE ctas AS SELECT code FROM insight.verify('$key')});
	is($sql->(q{SELECT code FROM ctas}), 'VALID', "$order: CREATE TABLE AS");
	$sql->(qq{CALL check_key('$key')});
	is($sql->(qq{SET app.key = '$key'; SELECT pg_catalog.current_setting('app.key') = '$key'}), 't',
		"$order: SET keeps the value itself");
	is($sql->(qq{PREPARE p AS SELECT code FROM insight.verify('$key'); EXECUTE p}), 'VALID', "$order: PREPARE / EXECUTE");
	PostgreSQL::Test::Utils::append_to_file("$tmp/utility.sql", qq{SET app.extended_key = '$key';\n});
	$node->command_ok([@pgbench, '-f', "$tmp/utility.sql", 'postgres'], "$order: a utility statement over the extended protocol");

	# report_leaked: the key is its argument, as for verify; a live key is
	# revoked, then the same text answers false. Simple protocol, a failing
	# statement, a utility statement (stored verbatim) and the extended
	# protocol with the key inlined.
	my @leaked = map { $sql->(qq{SELECT api_key FROM insight.generate_user_key('$org', 'leaked $_')}, 'alice') } 1 .. 2;
	is($sql->(qq{SELECT insight.report_leaked('$leaked[0]', 'pasted: $leaked[0]')}), 't',
		"$order: report_leaked revokes a live key");
	my ($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.report_leaked('$leaked[1]'), 1/0});
	like($err, qr/division by zero/, "$order: a failing statement holding a key for report_leaked");
	$sql->(qq{DO \$\$BEGIN PERFORM insight.report_leaked('$leaked[0]'); END\$\$});
	PostgreSQL::Test::Utils::append_to_file("$tmp/leaked.sql", qq{SELECT insight.report_leaked('$leaked[1]') AS extended;\n});
	$node->command_ok([@pgbench, '-f', "$tmp/leaked.sql", 'postgres'], "$order: report_leaked over the extended protocol");
	is($sql->(qq{SELECT code FROM insight.verify('$leaked[1]')}), 'NOT_FOUND', "$order: the extended-protocol report revoked the key");

	$stored = $texts->();
	for my $i (0 .. 1) {
		is(index($stored, $leaked[$i]), -1, "$order: no reported key $i in pg_stat_statements");
		is(index($stored, substr($leaked[$i], 25, 43)), -1, "$order: no reported secret $i in pg_stat_statements");
	}
	like($stored, qr/^DO \$\$BEGIN PERFORM insight\.report_leaked\('$masked'\); END\$\$$/m,
		"$order: the DO calling report_leaked is stored masked");
	is(index($stored, $key), -1, "$order: no key in pg_stat_statements after utility statements");
	is(index($stored, $secret), -1, "$order: no secret in pg_stat_statements after utility statements");
	my $file = slurp_file($node->data_dir . '/pg_stat_tmp/pgss_query_texts.stat');
	is(index($file, $secret), -1, "$order: no secret in any text pg_stat_statements stored, in the end");
	for my $utility (
		qr/^DO \$\$BEGIN PERFORM insight\.verify\('$masked'\); END\$\$$/m,
		qr/^EXPLAIN SELECT code FROM insight\.verify\('$masked'\)$/m,
		qr/^COPY \(SELECT code FROM insight\.verify\('$masked'\)\) TO STDOUT$/m,
		qr/^DECLARE c CURSOR FOR SELECT code FROM insight\.verify\('$masked'\)$/m,
		qr/^CREATE TABLE ctas AS SELECT code FROM insight\.verify\('$masked'\)$/m,
		qr/^CALL check_key\('$masked'\)$/m,
		qr/^SET app\.key = '$masked'$/m,
		qr/^SET app\.extended_key = '$masked'$/m)
	{
		like($stored, $utility, "$order: utility statement stored masked: $utility");
	}
	$node->stop;
}

done_testing();
