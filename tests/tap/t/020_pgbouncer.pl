# pgbouncer in transaction pooling mode (pool size 2) in front of a cluster
# with insight_keys: 8 concurrent clients, each holding the key of a
# different user or organization, interleave BEGIN; authenticate; whoami;
# reads of insight.keys and insight.api_keys; COMMIT (and ROLLBACKs, failed
# transactions and autocommit statements) over the two server connections.
# Every row each client observes must belong to its own principal, and the
# principal never outlives the transaction that set it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InsightFixture qw(preloaded_node start_pgbouncer);

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => "pgbouncer not installed at $pgbouncer" unless -x $pgbouncer;

my $clients = 8;
my $rounds = 30;

my $node = preloaded_node('pooled', db => 'app');
$node->safe_psql('app', q{
  CREATE ROLE pb_app LOGIN;  -- the application's login role: no user, not trusted
  CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
});

# Client i: organization o<i> with user u<i> (org_admin when i is odd,
# read_write when even) holding "key <i>"; organizations 7 and 8 also get an
# organization key "org <i> app", which clients 7 and 8 use.
my (%user, %org, %key, %key_id);
for my $i (1 .. $clients) {
  my $role = $i % 2 ? 'org_admin' : 'read_write';
  $node->safe_psql('app', qq{
    INSERT INTO public.ids VALUES ('o$i', insight.create_organization('org $i'));
    INSERT INTO public.ids VALUES ('u$i', insight.create_user('u$i\@example.com', 'User $i'));
    SELECT insight.set_membership((SELECT id FROM public.ids WHERE name = 'u$i'),
                                  (SELECT id FROM public.ids WHERE name = 'o$i'), '$role');
  });
  $org{$i} = $node->safe_psql('app', "SELECT id FROM public.ids WHERE name = 'o$i'");
  $user{$i} = $node->safe_psql('app', "SELECT id FROM public.ids WHERE name = 'u$i'");
  my ($kid, $k) = split /\|/, $node->safe_psql('app', qq{
    BEGIN;
    SET LOCAL ROLE insight_trusted_app;
    SELECT insight.act_as('$user{$i}');
    SELECT key_id, api_key FROM insight.generate_user_key('$org{$i}', 'key $i');
    COMMIT;});
  ($key_id{"user$i"}, $key{"user$i"}) = ($kid =~ s/^\s+//r, $k);
  if ($i >= 7) {
    my ($oid, $ok) = split /\|/, $node->safe_psql('app',
      "SELECT key_id, api_key FROM insight.generate_org_key('$org{$i}', 'org $i app')");
    ($key_id{"org$i"}, $key{"org$i"}) = ($oid, $ok);
  }
}

# pgbouncer on a free loopback port, transaction pooling, 2 server connections.
my %bouncer = start_pgbouncer($node, bin => $pgbouncer, users => ['pb_app'],
  pool_mode => 'transaction', pool_size => 2, max_client_conn => 50, server_reset_query => '');
my ($bdir, $bouncer) = @bouncer{qw(dir handle)};
my $via_bouncer = "host=127.0.0.1 port=$bouncer{port} dbname=app user=pb_app";

# Each client's script: the same key every round, in four shapes.
sub client_script {
  my ($i) = @_;
  my $k = $i >= 7 ? $key{"org$i"} : $key{"user$i"};
  my $sql = "\\set ON_ERROR_STOP 0\n";
  for my $r (1 .. $rounds) {
    my $shape = $r % 4;
    if ($shape == 1 || $shape == 2) {
      my $end = $shape == 1 ? 'COMMIT' : 'ROLLBACK';
      $sql .= qq{BEGIN;
SELECT 'auth', code FROM insight.authenticate('$k');
SELECT 'sleep', pg_sleep(0.01);
SELECT 'who', kind, via, user_id, org_id, key_id, pg_backend_pid() FROM insight.whoami();
SELECT 'keys', string_agg(name, ',' ORDER BY name) FROM insight.keys;
SELECT 'base', count(*), count(*) FILTER (WHERE org_id <> '$org{$i}') FROM insight.api_keys;
SELECT 'orgs', string_agg(name, ',' ORDER BY name) FROM insight.organizations;
$end;
SELECT 'after', kind FROM insight.whoami();
};
    } elsif ($shape == 3) {
      # a transaction that fails after authenticating: the principal goes with it
      $sql .= qq{BEGIN;
SELECT 'auth', code FROM insight.authenticate('$k');
SELECT 'fail', 1 / 0;
COMMIT;
SELECT 'after', kind FROM insight.whoami();
SELECT 'keys_after', count(*) FROM insight.keys;
};
    } else {
      # autocommit: each statement is its own transaction
      $sql .= qq{SELECT 'auth', code FROM insight.authenticate('$k');
SELECT 'after', kind FROM insight.whoami();
SELECT 'keys_after', count(*) FROM insight.keys;
};
    }
  }
  return $sql;
}

# Start all clients at once; each runs its rounds as fast as the pool allows
# (a 10 ms pause inside each full transaction keeps a server connection busy
# so that the others queue and the pool uses both connections).
# Scripts and outputs are files, so that the clients never wait for this
# process to pump their pipes: they run truly side by side.
my (@runs, @out, @err);
for my $i (1 .. $clients) {
  append_to_file("$bdir/client$i.sql", client_script($i));
  push @runs, IPC::Run::start(['psql', '-XAtq', '-F', '|', '-d', $via_bouncer, '-f', "$bdir/client$i.sql"],
    '<', '/dev/null', '>', "$bdir/client$i.out", '2>', "$bdir/client$i.err",
    IPC::Run::timeout(5 * $PostgreSQL::Test::Utils::timeout_default));
}
$_->finish for @runs;
for my $i (1 .. $clients) {
  $out[$i] = slurp_file("$bdir/client$i.out");
  $err[$i] = slurp_file("$bdir/client$i.err");
}

my %pids_by_client;
for my $i (1 .. $clients) {
  my $is_org = $i >= 7;
  my $kid = $is_org ? $key_id{"org$i"} : $key_id{"user$i"};
  my $keys = $is_org ? "key $i,org $i app" : "key $i";
  my $n_keys = $is_org ? 2 : 1;
  my $who = $is_org ? "who|organization|api_key||$org{$i}|$kid|" : "who|user|api_key|$user{$i}|$org{$i}|$kid|";
  my (%count, @bad);
  for my $line (split /\n/, $out[$i]) {
    if ($line eq 'auth|VALID') { $count{auth}++; }
    elsif (index($line, $who) == 0 && $line =~ /\|(\d+)$/) { $count{who}++; $pids_by_client{$i}{$1} = 1; }
    elsif ($line eq "keys|$keys") { $count{keys}++; }
    elsif ($line eq "base|$n_keys|0") { $count{base}++; }
    elsif ($line eq "orgs|org $i") { $count{orgs}++; }
    elsif ($line eq 'after|nobody') { $count{after}++; }
    elsif ($line eq 'keys_after|0') { $count{keys_after}++; }
    elsif ($line eq 'sleep|') { $count{sleep}++; }
    else { push @bad, $line; }
  }
  my $full = grep { $_ % 4 == 1 || $_ % 4 == 2 } 1 .. $rounds;
  my $failing = grep { $_ % 4 == 3 } 1 .. $rounds;
  my $auto = grep { $_ % 4 == 0 } 1 .. $rounds;
  is(scalar(@bad), 0, "client $i: no row of another principal (unexpected lines: " . scalar(@bad) . ')')
    or diag(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
  is(join(' ', map { "$_=" . ($count{$_} // 0) } qw(auth sleep who keys base orgs after keys_after)),
    join(' ', 'auth=' . ($full + $failing + $auto), "sleep=$full", "who=$full", "keys=$full", "base=$full", "orgs=$full",
      'after=' . ($full + $failing + $auto), 'keys_after=' . ($failing + $auto)),
    "client $i: every round observed its own principal and nothing after it");
  my $divisions = () = $err[$i] =~ /ERROR:\s+division by zero/g;
  my $other_errors = () = $err[$i] =~ /ERROR:(?!\s+division by zero)/g;
  is("$divisions $other_errors", "$failing 0", "client $i: only the intended failures");
}

# The pool really was shared: at most 2 server backends served everything,
# and some backend served several clients in turn.
my %clients_by_pid;
for my $i (keys %pids_by_client) {
  $clients_by_pid{$_}{$i} = 1 for keys %{ $pids_by_client{$i} };
}
my $server_pids = scalar(keys %clients_by_pid);
ok($server_pids >= 1 && $server_pids <= 2, "all transactions ran on $server_pids server connection(s) (pool size 2)");
my $max_shared = 0;
for my $pid (keys %clients_by_pid) {
  my $n = scalar(keys %{ $clients_by_pid{$pid} });
  $max_shared = $n if $n > $max_shared;
}
ok($max_shared >= $clients / 2, "one server connection served $max_shared different clients' principals");

# No key reached pgbouncer's log or the server log.
$bouncer->signal('TERM');
$bouncer->finish;
my $logs = slurp_file("$bdir/pgbouncer.log") . slurp_file($node->logfile);
my $leaked = grep { index($logs, $_) >= 0 } values %key;
is($leaked, 0, 'no plaintext key in the pgbouncer or server log');

$node->stop;
done_testing();
