# Secrets never reach a log (docs/SECURITY.md "Statement texts"). A cluster that logs everything it
# can — every statement, every duration, the statement of every message down
# to debug5, auto_explain of nested statements with ANALYZE, bind parameters
# in full, pg_stat_statements tracking everything, pgaudit logging every
# statement with its parameters — runs a workload of
# generate / verify / authenticate / revoke over the simple and the extended
# protocol (pgbench -M extended: keys travel as bind parameters), with valid,
# near-miss, forged and revoked keys, and failing statements. Every key the
# workload saw is collected; then the server log, pg_stat_statements and the
# extension's own tables must hold none of them, none of their secrets and
# none of their SHA-256 hashes. A control at the end turns redaction off for
# one statement and checks the same search does find that key, so the search
# itself is shown to work.
use strict;
use warnings;
use Compress::Zlib qw(crc32);
use Digest::SHA qw(sha256_hex);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('log_redaction');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys,auto_explain,pg_stat_statements,pgaudit'
insight.redact_logs = on
pgaudit.log = 'all'
pgaudit.log_parameter = on
log_statement = all
log_min_duration_statement = 0
log_min_error_statement = debug5
log_min_messages = debug1
log_error_verbosity = verbose
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_verbose = on
auto_explain.log_nested_statements = on
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
});
$node->start;

my @keys;    # every plaintext key the workload handled

# The two redacted forms: a log line or pg_stat_activity rewritten from a copy
# ("...[REDACTED]"), and a statement text masked in place to its own length
# ('*' after the first 4 lookup characters: what pg_stat_statements, the
# STATEMENT line and auto_explain's query text show once parse analysis ran).
my $redacted_user = qr/ik_user_\w{0,4}(?:\.\.\.\[REDACTED\]|\*+)/;

sub sql { return $node->safe_psql('postgres', $_[0], extra_params => ['-U', $_[1] // 'postgres']); }

# A key of the documented shape with a correct checksum but a secret nobody
# holds: passes the codec, so verify reaches the table (NOT_FOUND).
my @b62 = ('0' .. '9', 'A' .. 'Z', 'a' .. 'z');
sub checksum6 {
	my ($v) = @_;
	my $s = '';
	for (1 .. 6) { $s = $b62[$v % 62] . $s; $v = int($v / 62); }
	return $s;
}
sub forge {
	my ($key) = @_;
	my $plen = $key =~ /^ik_org_/ ? 7 : 8;
	my $body = substr($key, 0, $plen + 17) . join('', map { $b62[($_ * 7) % 62] } 1 .. 43);
	return $body . checksum6(crc32($body));
}

sql(q{CREATE EXTENSION insight_keys CASCADE; CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pgaudit;
      CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN;});
my $org = sql(q{SELECT insight.create_organization('Acme')});
my $alice = sql(q{SELECT insight.create_user('alice@example.com', 'Alice', false, 'alice')});
my $bob = sql(q{SELECT insight.create_user('bob@example.com', 'Bob', false, 'bob')});
sql(qq{SELECT insight.set_membership('$alice', '$org', 'org_admin');
       SELECT insight.set_membership('$bob', '$org', 'read_write')});

# ---- simple protocol (psql)
sub generate {
	my ($fn, $name, $role) = @_;
	my ($id, $key) = split /\|/, sql(qq{SELECT key_id, api_key FROM insight.$fn('$org', '$name')}, $role);
	push @keys, $key;
	return ($id, $key);
}
my ($k1_id, $k1) = generate('generate_user_key', 'alice main', 'alice');
my ($k2_id, $k2) = generate('generate_user_key', 'alice to revoke', 'alice');
my ($k3_id, $k3) = generate('generate_org_key', 'acme service', 'alice');
my ($k4_id, $k4) = generate('generate_user_key', 'bob key', 'bob');
my $forged = forge($k1);
my $near = substr($k1, 0, 30) . (substr($k1, 30, 1) eq 'a' ? 'b' : 'a') . substr($k1, 31);
push @keys, $forged, $near;

is(sql(qq{SELECT code FROM insight.verify('$k1')}), 'VALID', 'valid user key verifies');
is(sql(qq{SELECT code FROM insight.verify('$k3')}), 'VALID', 'valid org key verifies');
is(sql(qq{SELECT code FROM insight.verify('$near')}), 'MALFORMED', 'near miss is MALFORMED');
is(sql(qq{SELECT code FROM insight.verify('$forged')}), 'NOT_FOUND', 'forged key is NOT_FOUND');
is(sql(qq{BEGIN; SELECT role FROM insight.authenticate('$k3'); SELECT count(*) FROM insight.keys; COMMIT;}),
	"org_admin\n4", 'authenticate with the org key, then read insight.keys');
is(sql(qq{PREPARE v(text) AS SELECT code FROM insight.verify(\$1); EXECUTE v('$k1')}), 'VALID',
	'PREPARE / EXECUTE with the key as a literal');
sql(qq{SELECT insight.revoke_key('$k2_id')}, 'alice');
is(sql(qq{SELECT code FROM insight.verify('$k2')}), 'NOT_FOUND', 'revoked key is NOT_FOUND');

# Failing statements: their STATEMENT line would carry the key.
my ($rc, $out, $err) = $node->psql('postgres', qq{SELECT * FROM insight.authenticate('$k2')});
like($err, qr/API key authentication failed: NOT_FOUND/, 'authenticate with a revoked key fails');
unlike($err, qr/\Q$k2\E/, 'the client error does not echo the key');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.verify('$k1'});
isnt($rc, 0, 'a syntax error in a statement holding a key');
# PostgreSQL's uuid input quotes its input in the error message itself.
($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.revoke_key('$k4')});
like($err, qr/invalid input syntax for type uuid/, 'a key passed as a uuid is echoed by the uuid cast');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT 1/0, insight.verify('$k4')});
like($err, qr/division by zero/, 'a runtime error in a statement holding a key');
# NOTICE and DEBUG-level messages emitted while the statement runs also get
# the statement logged (log_min_error_statement = debug5).
($rc, $out, $err) = $node->psql('postgres', qq{DROP TABLE IF EXISTS no_such_table; SELECT code FROM insight.verify('$k4')});
like($err, qr/does not exist, skipping/, 'a NOTICE while a statement holding a key runs');

# ---- extended protocol: keys are bind parameters (pgbench -M extended)
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $keyfile = "$tmp/pgbench_keys";
PostgreSQL::Test::Utils::append_to_file("$tmp/workload.sql", qq{
SELECT key_id AS uid, api_key AS ukey FROM insight.generate_user_key(:org, 'pgbench user key') \\gset
\\shell echo :ukey >> $keyfile
SELECT key_id AS rid, api_key AS rkey FROM insight.generate_user_key(:org, 'pgbench revoked') \\gset
\\shell echo :rkey >> $keyfile
SELECT valid FROM insight.verify(:ukey);
SELECT code FROM insight.verify(:near);
SELECT code FROM insight.verify(:forged);
BEGIN;
SELECT role FROM insight.authenticate(:ukey);
SELECT count(*) FROM insight.keys;
COMMIT;
SELECT insight.revoke_key(:rid);
SELECT code FROM insight.verify(:rkey);
});
PostgreSQL::Test::Utils::append_to_file("$tmp/fail.sql", qq{
SELECT * FROM insight.authenticate(:revoked);
});
my @pgbench = ('pgbench', '-n', '-M', 'extended', '-t', '1', '-c', '1',
	'-h', $node->host, '-p', $node->port);
$node->command_ok([@pgbench, '-U', 'alice', '-f', "$tmp/workload.sql",
	'-D', "org=$org", '-D', "near=$near", '-D', "forged=$forged", 'postgres'],
	'extended-protocol workload (generate, verify, authenticate, revoke)');
my @pgbench_keys = split /\n/, slurp_file($keyfile);
is(scalar(@pgbench_keys), 2, 'pgbench generated two keys');
push @keys, @pgbench_keys;
is(sql(qq{SELECT code FROM insight.verify('$pgbench_keys[0]')}), 'VALID', 'the pgbench key verifies');
is(sql(qq{SELECT code FROM insight.verify('$pgbench_keys[1]')}), 'NOT_FOUND', 'the pgbench-revoked key is gone');
$node->command_fails([@pgbench, '-U', 'bob', '-f', "$tmp/fail.sql", '-D', "revoked=$pgbench_keys[1]", 'postgres'],
	'extended-protocol authenticate with a revoked key fails');

# Actions by a key principal and a cascade, so audit_log and cascade_queue
# have rows written while keys were in play.
sql(qq{BEGIN; SELECT 1 FROM insight.authenticate('$k3'); SELECT insight.revoke_key('$k4_id'); COMMIT;});
sql(qq{SELECT insight.delete_user('$bob')});
ok(sql(q{SELECT count(*) FROM insight.cascade_queue}) >= 1, 'a cascade was enqueued');

# ---- pg_stat_activity: the statement text other sessions see (and keep
# seeing while this one idles) is redacted once the statement is parsed
# (simple protocol) or run (extended protocol re-publishes it at Execute).
my $activity = sql(qq{SELECT a.query FROM insight.verify('$k1') v, pg_stat_activity a WHERE a.pid = pg_backend_pid()});
like($activity, qr/^SELECT a\.query FROM insight\.verify\('ik_user_\w{0,4}\.\.\.\[REDACTED\]'\) v/,
	'simple protocol: pg_stat_activity shows the statement redacted');
PostgreSQL::Test::Utils::append_to_file("$tmp/activity.sql", qq{
SELECT strpos(a.query, '$k1') = 0 AS redacted
  FROM insight.verify('$k1') v, pg_stat_activity a WHERE a.pid = pg_backend_pid() \\gset
\\shell echo :redacted >> $tmp/activity.out
});
$node->command_ok([@pgbench, '-U', 'alice', '-f', "$tmp/activity.sql", 'postgres'],
	'extended protocol: a key inlined in the statement text');
is(slurp_file("$tmp/activity.out"), "t\n", 'extended protocol: pg_stat_activity shows the statement redacted');

# ---- pg_stat_activity after a statement that fails before parse analysis
# ends: the backend published the raw text before parsing, and the failed
# session keeps showing it while it idles (in an aborted transaction). Another
# session polls the failed one until it is idle, then reads its query.
my $failing = $node->background_psql('postgres', on_error_stop => 0, extra_params => ['-U', 'alice']);
my $failing_pid = $failing->query_safe('SELECT pg_catalog.pg_backend_pid()');
sub failed_activity {
	my ($statement, $marker, $state) = @_;
	$failing->query_until(qr/\Q$marker\E sent/, "$statement /* $marker */;\n\\echo $marker sent\n");
	$node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity
		WHERE pid = $failing_pid AND state = '$state' AND query LIKE '%$marker%'})
	  or die "the failing session never reached state $state after $marker";
	return sql(qq{SELECT query FROM pg_catalog.pg_stat_activity WHERE pid = $failing_pid});
}
$failing->query_safe('BEGIN');
my $seen = failed_activity(qq{SELECTT code FROM insight.verify('$k1')}, 'syntax error', 'idle in transaction (aborted)');
is(index($seen, $k1), -1, 'a syntax error: pg_stat_activity of the failed session holds no key');
like($seen, qr/^SELECTT code FROM insight\.verify\('$redacted_user'\)/, 'a syntax error: the statement is shown redacted');
$seen = failed_activity(qq{SELECT code FROM insight.verify('$k3')}, 'aborted transaction', 'idle in transaction (aborted)');
is(index($seen, $k3), -1, 'a statement in an aborted transaction: no key in pg_stat_activity');
like($seen, qr/^SELECT code FROM insight\.verify\('ik_org_\w{0,4}\.\.\.\[REDACTED\]'\)/,
	'a statement in an aborted transaction: shown redacted');
$failing->query('ROLLBACK');
$seen = failed_activity(qq{SELECT insight.verify('$k1', 42, 'no such signature')}, 'unknown signature', 'idle');
is(index($seen, $k1), -1, 'an unknown function signature: no key in pg_stat_activity');
like($seen, qr/^SELECT insight\.verify\('$redacted_user', 42/, 'an unknown function signature: shown redacted');
$failing->quit;

# ---- node dumps: with debug_print_parse / debug_print_plan a constant is
# logged as its datum's bytes in decimal. A bind parameter becomes such a
# constant in a custom plan, a literal already in the parse tree. Both the
# pretty (default) and the compact form are covered; leaks() below searches
# the log for every key's secret in that byte form too.
sql(q{ALTER ROLE alice SET debug_print_parse = on; ALTER ROLE alice SET debug_print_plan = on});
PostgreSQL::Test::Utils::append_to_file("$tmp/dump.sql", q{
SELECT code FROM insight.verify(:key);
SET debug_pretty_print = off;
SELECT code FROM insight.verify(:key);
});
$node->command_ok([@pgbench, '-U', 'alice', '-f', "$tmp/dump.sql", '-D', "key=$k3", 'postgres'],
	'extended protocol with debug_print_plan: the key is a bind parameter');
is(sql(qq{SET debug_pretty_print = off; SELECT code FROM insight.verify('$k1')}, 'alice'), 'VALID',
	'simple protocol with debug_print_parse: the key is a literal');
sql(q{ALTER ROLE alice RESET debug_print_parse; ALTER ROLE alice RESET debug_print_plan});

# ---- report_leaked: anyone holding a key's text may have it revoked; the
# key is an argument (and maybe in the source) exactly as for verify.
my ($k5_id, $k5) = generate('generate_user_key', 'alice leaked', 'alice');
is(sql(qq{SELECT insight.report_leaked('$k5', 'https://example.com/gist line 1: $k5')}), 't',
	'report_leaked revokes a live key, the source quoting it');
is(sql(qq{SELECT insight.report_leaked('$k5')}), 'f', 'a second report of the same key is false');
is(sql(qq{SELECT detail->>'reason' FROM insight.audit WHERE key_id = '$k5_id' AND action = 'key.revoked'}), 'leaked', 'audited with reason leaked');
$activity = sql(qq{SELECT a.query FROM insight.report_leaked('$k5') v, pg_stat_activity a WHERE a.pid = pg_backend_pid()});
like($activity, qr/^SELECT a\.query FROM insight\.report_leaked\('ik_user_\w{0,4}\.\.\.\[REDACTED\]'\) v/,
	'report_leaked: pg_stat_activity shows the statement redacted');
# Failing statements holding a key: a read-only transaction (as on a standby),
# a runtime error, a syntax error.
($rc, $out, $err) = $node->psql('postgres', qq{BEGIN READ ONLY; SELECT insight.report_leaked('$k1', '$k1'); COMMIT});
like($err, qr/cannot execute report_leaked\(\) in a read-only transaction/, 'report_leaked in a read-only transaction fails as a write');
unlike($err, qr/\Q$k1\E/, 'the read-only error does not echo the key');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.report_leaked('$k1', (1/0)::text)});
like($err, qr/division by zero/, 'a runtime error in a statement reporting a key');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.report_leaked('$k1'});
isnt($rc, 0, 'a syntax error in a statement reporting a key');
is(sql(qq{SELECT code FROM insight.verify('$k1')}), 'VALID', 'the failed reports left the key alone');
# The extended protocol: the key and the source are bind parameters.
my $leakfile = "$tmp/pgbench_leaked";
PostgreSQL::Test::Utils::append_to_file("$tmp/leaked.sql", qq{
SELECT key_id AS lid, api_key AS lkey FROM insight.generate_user_key(:org, 'pgbench leaked') \\gset
\\shell echo :lkey >> $leakfile
SELECT insight.report_leaked(:lkey, :lkey);
SELECT insight.report_leaked(:lkey);
SELECT code FROM insight.verify(:lkey);
});
PostgreSQL::Test::Utils::append_to_file("$tmp/leaked_fail.sql", qq{
BEGIN READ ONLY;
SELECT insight.report_leaked(:live, :live);
});
$node->command_ok([@pgbench, '-U', 'alice', '-f', "$tmp/leaked.sql", '-D', "org=$org", 'postgres'],
	'extended protocol: report_leaked with the key as a bind parameter');
my @leaked_keys = split /\n/, slurp_file($leakfile);
is(scalar(@leaked_keys), 1, 'pgbench generated and reported one key');
push @keys, @leaked_keys;
is(sql(qq{SELECT code FROM insight.verify('$leaked_keys[0]')}), 'NOT_FOUND', 'the pgbench-reported key is gone');
$node->command_fails([@pgbench, '-U', 'bob', '-f', "$tmp/leaked_fail.sql", '-D', "live=$k1", 'postgres'],
	'extended protocol: report_leaked in a read-only transaction fails');

# ---- the search
my @hashes = map { sha256_hex($_) } @keys;
my @secrets = map { my $p = /^ik_org_/ ? 7 : 8; substr($_, $p + 17, 43) } @keys;
is(scalar(@keys), 10, 'ten keys collected');

# The stored hash is SHA-256 of the key text: cross-check with the live rows,
# so the hashes searched for below are really what the table holds.
my %stored = map { $_ => 1 } split /\n/,
	sql(q{SELECT pg_catalog.encode(secret_hash, 'hex') FROM insight.api_keys});
is(scalar(grep { $stored{$_} } @hashes), 3, 'the three live keys have sha256(key) as secret_hash');

# A secret as a node dump prints it: its bytes in decimal, separated by
# blanks, where the pretty form may break a line (and indent) anywhere, even
# inside a number.
sub dumped_bytes {
	my ($secret) = @_;
	my $in_number = qr/(?:\n +)?/;
	my $between = qr/\s+/;
	return join($between, map { join($in_number, split //, ord($_)) } split //, $secret);
}

sub leaks {
	my ($text) = @_;
	my @found;
	for my $i (0 .. $#keys) {
		push @found, "key $i" if index($text, $keys[$i]) >= 0;
		push @found, "dumped secret $i" if $text =~ dumped_bytes($secrets[$i]);
		push @found, "secret $i" if index($text, $secrets[$i]) >= 0;
		push @found, "hash $i" if index(lc $text, $hashes[$i]) >= 0;
	}
	return join(', ', @found);
}

$node->safe_psql('postgres', 'SELECT pg_catalog.pg_sleep(0)');    # a last line, flushed
my $log = slurp_file($node->logfile);
is(leaks($log), '', 'no key, secret or secret hash in the server log');
like($log, qr/STATEMENT(?: \(keys redacted\))?:  SELECT \* FROM insight\.authenticate\('$redacted_user'\)/,
	'the failing authenticate is logged with its statement redacted');
like($log, qr/parameters: \$1 = 'ik_user_\w{0,4}\.\.\.\[REDACTED\]'/,
	'extended-protocol bind parameters are logged redacted');
like($log, qr/unnamed portal with parameters: \$1 = 'ik_user_\w{0,4}\.\.\.\[REDACTED\]'/,
	'the failing bind is logged with its parameters redacted');
like($log, qr/Query Text: SELECT code FROM insight\.verify\('$redacted_user'\)/,
	'auto_explain plans are logged with the query text redacted');
like($log, qr/statement: SELECT code FROM insight\.verify\('ik_(user|org)_\w{0,4}\.\.\.\[REDACTED\]'\)/,
	'log_statement lines are redacted');
unlike($log, qr/STATEMENT:  [^\n]*ik_(user|org)_\w{8}/, 'no STATEMENT line holds key material');
like($log, qr/invalid input syntax for type uuid: "ik_user_\w{0,4}\.\.\.\[REDACTED\]"/,
	'an error message quoting a key is logged redacted');
like($log, qr/DETAIL:  \s*\{PLANNEDSTMT/, 'debug_print_plan wrote plan dumps');
like($log, qr/AUDIT: SESSION,\d+,\d+,READ,SELECT,,,[^\n]*insight\.verify\(\$1\)[^\n]*,$redacted_user/,
	'pgaudit logs the statement with its parameters, the key redacted');
my $masked_dump = join(' ', map { ord } split //, substr($k3, 0, 11)) . ' 42 42 42';
my @masked_dumps = $log =~ /\[ (?:-?\d+ )*$masked_dump/g;
ok(@masked_dumps >= 2, 'the dumped constants holding the org key are logged with its bytes masked');
my $masked_literal = join(' ', map { ord } split //, substr($k1, 0, 12)) . ' 42 42 42';
like($log, qr/\[ (?:-?\d+ )*$masked_literal/,
	'the dumped literal holding the user key is logged with its bytes masked');
# The extension's statements run with generic plans: the VERBOSE plan of the
# generate INSERT shows the hash as a parameter, never as a constant.
like($log, qr/Output: gen_random_uuid\(\), \$1, .*\$9, now\(\)/,
	'the generate INSERT is logged with its secret_hash as a parameter ($9), not a constant');

my $pgss = sql(q{SELECT pg_catalog.string_agg(query, E'\n') FROM pg_stat_statements});
like($pgss, qr/insight\.verify/, 'pg_stat_statements tracked the workload');
is(leaks($pgss), '', 'no key, secret or hash in pg_stat_statements');

my $audit = sql(q{SELECT pg_catalog.string_agg(a::text, E'\n') FROM insight.audit_log a});
ok(length($audit) > 0, 'the audit log has rows');
is(leaks($audit), '', 'no key, secret or hash in insight.audit_log');
my $queue = sql(q{SELECT pg_catalog.string_agg(q::text, E'\n') FROM insight.cascade_queue q});
is(leaks($queue), '', 'no key, secret or hash in insight.cascade_queue');
my $rows = sql(q{SELECT pg_catalog.string_agg(pg_catalog.row_to_json(k)::text, E'\n')
                 FROM (SELECT id, lookup_id, kind, name, hint, created_by_label FROM insight.api_keys) k});
is(leaks($rows), '', 'no key or secret in insight.api_keys outside secret_hash');

# ---- who may turn it off, and the control
($rc, $out, $err) = $node->psql('postgres', 'SET insight.redact_logs = off', extra_params => ['-U', 'alice']);
like($err, qr/permission denied to set parameter "insight\.redact_logs"/, 'only a superuser may turn redaction off');
my $control = $pgbench_keys[0];
sql(qq{SET insight.redact_logs = off; SELECT code FROM insight.verify('$control')});
$node->safe_psql('postgres', 'SELECT pg_catalog.pg_sleep(0)');
$log = slurp_file($node->logfile);
like(leaks($log), qr/^key 6, secret 6$/, 'control: with redaction off the search finds exactly that key');

# ---- the csv and json logs: the query field honours hide_stmt too
$node->append_conf('postgresql.conf', q{
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
});
$node->restart;
($rc, $out, $err) = $node->psql('postgres', qq{SELECT insight.authenticate('$k1'), 1/0});
like($err, qr/division by zero/, 'collector phase: a failing statement holding a valid key');
$node->command_ok([@pgbench, '-U', 'alice', '-f', "$tmp/workload.sql",
	'-D', "org=$org", '-D', "near=$near", '-D', "forged=$forged", 'postgres'],
	'collector phase: the extended-protocol workload again');
push @keys, split /\n/, slurp_file($keyfile);
@keys = do { my %seen; grep { !$seen{$_}++ } @keys };
is(scalar(@keys), 12, 'twelve distinct keys collected in all');
@hashes = map { sha256_hex($_) } @keys;
@secrets = map { my $p = /^ik_org_/ ? 7 : 8; substr($_, $p + 17, 43) } @keys;
$node->safe_psql('postgres', 'SELECT pg_catalog.pg_sleep(0)');
$node->stop;    # flushes the collector
my %logs;
for my $ext ('log', 'csv', 'json') {
	my @files = glob($node->data_dir . "/log/*.$ext");
	$logs{$ext} = join('', map { slurp_file($_) } @files);
	ok(length($logs{$ext}) > 0, "collector wrote a .$ext log");
	is(leaks($logs{$ext}), '', "no key, secret or hash in the .$ext log");
}
like($logs{csv}, qr/(?:STATEMENT \(keys redacted\):  )?SELECT insight\.authenticate\('$redacted_user'\), 1\/0/,
	'csvlog carries the redacted statement');
like($logs{json}, qr/"detail":"parameters: \$1 = 'ik_user_\w{0,4}\.\.\.\[REDACTED\]'/,
	'jsonlog carries redacted bind parameters');

done_testing();
