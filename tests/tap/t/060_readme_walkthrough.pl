# The README's walkthrough works where the README sends the reader: pasted
# into the demo database after scripts/demo.sql has run there (what make demo
# leaves behind), every statement succeeds and the keys answer as the
# comments say. tests/tap/run.sh copies README.md and scripts/demo.sql here
# (the server's user may not be able to read the checkout).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $readme = slurp_file($ENV{INSIGHT_README} // die 'INSIGHT_README not set');
my $demo_sql = slurp_file($ENV{INSIGHT_DEMO_SQL} // die 'INSIGHT_DEMO_SQL not set');
my ($walkthrough) = $readme =~ /^## Walkthrough \(psql\)\n.*?^```sql\n(.*?)^```\n/ms;
ok(defined $walkthrough, 'the README has a walkthrough block') or BAIL_OUT('no walkthrough in README.md');

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'insight_keys'\n");
$node->start;
# What scripts/demo.sh does before it prints how to connect.
$node->safe_psql('postgres', 'CREATE DATABASE insight_demo');
$node->safe_psql('insight_demo', 'CREATE EXTENSION insight_keys CASCADE');

my ($out, $err);
my $rc = $node->psql('insight_demo', $demo_sql, stdout => \$out, stderr => \$err, on_error_stop => 1);
is($rc, 0, 'scripts/demo.sql runs to the end');
unlike($err, qr/ERROR/, 'without an error') or diag($err);

$rc = $node->psql('insight_demo', $walkthrough, stdout => \$out, stderr => \$err, on_error_stop => 1);
is($rc, 0, 'the README walkthrough, pasted after it, runs to the end');
unlike($err, qr/ERROR|syntax error/, 'without an error') or diag($err);

# Hal's key verified VALID as read_write before his deletion, and the
# revoked organization key answers NOT_FOUND (the last statement).
like($out, qr/^t\|VALID\|[0-9a-f-]{36}\|user\|[0-9a-f-]{36}\|[0-9a-f-]{36}\|read_write\|$/m,
  'the user key verifies as Hal, read_write');
my @lines = split /\n/, $out;
is($lines[-1], 'NOT_FOUND', 'the revoked organization key answers NOT_FOUND');
is($node->safe_psql('insight_demo',
    "SELECT string_agg(name, ',' ORDER BY name) FROM insight.organizations"),
  'Acme,Globex', "the demo's organization and the walkthrough's, side by side");

$node->stop;
done_testing();
