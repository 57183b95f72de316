# pgbouncer in session pooling mode with one server connection and its
# default server_reset_query (DISCARD ALL): a trusted application's client
# sets a session principal (act_as a platform admin) and disconnects; the
# next client, served by the same server backend, must start as nobody and
# see nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use InsightFixture qw(preloaded_node start_pgbouncer);

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => "pgbouncer not installed at $pgbouncer" unless -x $pgbouncer;

my $node = preloaded_node('session_pooled', db => 'app');
$node->safe_psql('app', q{
  CREATE ROLE ps_web LOGIN;  -- the trusted application's login role: no user of its own
  GRANT insight_trusted_app TO ps_web;
});
my $admin = $node->safe_psql('app',
  "SELECT insight.create_user('ps-admin\@example.com', platform_admin => true)");

# pgbouncer on a free loopback port, session pooling, one server connection
# that logs in as ps_web whoever the client is (the [databases] user), as an
# application's pool does: every client is served by the same backend in turn.
my %bouncer = start_pgbouncer($node, bin => $pgbouncer, users => ['ps_web', 'ps_next'], server_user => 'ps_web',
  pool_mode => 'session', pool_size => 1, max_client_conn => 10, server_reset_query => 'DISCARD ALL');
my ($bport, $bouncer) = @bouncer{qw(port handle)};

sub via_bouncer {
  my ($db, $user, $sql) = @_;
  my ($o, $e) = ('', '');
  IPC::Run::run(['psql', '-XAtq', '-F', '|', '-d', "host=127.0.0.1 port=$bport dbname=$db user=$user",
                 '-c', $sql], '<', '/dev/null', '>', \$o, '2>', \$e,
                IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
  chomp $o;
  return ($o, $e);
}


# The application sets its principal for the session and leaves.
my ($first, $e1) = via_bouncer('app', 'ps_web',
  "SELECT insight.act_as('$admin', 'session'); "
  . 'SELECT pg_backend_pid(), kind, via, platform_admin, scope FROM insight.whoami()');
my ($pid1, $who1) = split /\|/, (split /\n/, $first)[-1] // '', 2;  # after act_as's empty row
is($who1, 'user|act_as|t|session', 'the first client acts as the platform admin') or diag($e1);
# The next client is served by the same server backend after DISCARD ALL.
my ($second, $e2) = via_bouncer('app', 'ps_next',
  "SELECT pg_backend_pid(), kind, coalesce(via, '-') FROM insight.whoami(); "
  . 'SELECT count(*) FROM insight.users');
my ($line1, $users) = split /\n/, $second;
my ($pid2, $who2) = split /\|/, ($line1 // ''), 2;
is($pid2, $pid1, 'the next client got the same server backend');
is($who2, 'nobody|-', 'after DISCARD ALL the next client is nobody') or diag($e2);
is($users, '0', 'and sees no user');

$bouncer->signal('TERM');
$bouncer->finish;
$node->stop;
done_testing();
