# Set-ups several TAP tests share: a started cluster that preloads
# insight_keys, the people of the hot-standby and dump/restore tests, and a
# pgbouncer in front of a cluster, up and accepting connections.
package InsightFixture;
use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
our @EXPORT_OK = qw(preloaded_node create_people start_pgbouncer);

# preloaded_node(NAME, init => {options of init}, conf => 'more settings',
# db => 'app'): a started cluster with shared_preload_libraries =
# 'insight_keys' and the settings of conf; with db, that database is created
# and has the extension.
sub preloaded_node {
  my ($name, %opt) = @_;
  my $node = PostgreSQL::Test::Cluster->new($name);
  $node->init(%{ $opt{init} // {} });
  $node->append_conf('postgresql.conf', "\nshared_preload_libraries = 'insight_keys'\n" . ($opt{conf} // ''));
  $node->start;
  if (my $db = $opt{db}) {
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, 'CREATE EXTENSION insight_keys CASCADE');
  }
  return $node;
}

# create_people(NODE, DB, PREFIX, dave => 1): login roles PREFIX_alice,
# PREFIX_bob, PREFIX_app (a trusted application) and PREFIX_stranger (no
# user); organizations acme and globex; users alice and bob (mapped to their
# roles) and carol (no role); with dave, also the platform admin dave mapped
# to PREFIX_dave. public.ids (name, id), readable by everyone, holds their ids.
# No memberships: each test sets its own.
sub create_people {
  my ($node, $db, $p, %opt) = @_;
  my $dave_role = $opt{dave} ? "CREATE ROLE ${p}_dave LOGIN;" : '';
  my $dave_user = $opt{dave} ? ",\n    ('dave', insight.create_user('dave\@example.com', 'Dave', true, '${p}_dave'))" : '';
  $node->safe_psql($db, qq{
  CREATE ROLE ${p}_alice LOGIN;
  CREATE ROLE ${p}_bob LOGIN;
  $dave_role
  CREATE ROLE ${p}_app LOGIN IN ROLE insight_trusted_app;
  CREATE ROLE ${p}_stranger LOGIN;
  CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
  GRANT SELECT ON public.ids TO PUBLIC;
  INSERT INTO public.ids VALUES
    ('acme', insight.create_organization('acme')),
    ('globex', insight.create_organization('globex'));
  INSERT INTO public.ids VALUES
    ('alice', insight.create_user('alice\@example.com', 'Alice', false, '${p}_alice')),
    ('bob', insight.create_user('bob\@example.com', 'Bob', false, '${p}_bob')),
    ('carol', insight.create_user('carol\@example.com', 'Carol'))$dave_user;
  });
}

# start_pgbouncer(NODE, bin => PATH, users => [login roles], server_user => ROLE,
# pool_mode => 'transaction', pool_size => N, max_client_conn => N,
# server_reset_query => 'SQL'): pgbouncer on a free loopback port in front of
# NODE's database app (as server_user when given, else as each client),
# trust authentication for users. It passes the test "pgbouncer accepts
# connections" once psql gets an answer through it as the first of users,
# or bails out. Returns a hash: port, dir (its files and log), handle (of
# IPC::Run, to signal and finish).
sub start_pgbouncer {
  my ($node, %opt) = @_;
  my $dir = PostgreSQL::Test::Utils::tempdir('pgbouncer');
  my $port = PostgreSQL::Test::Cluster::get_free_port();
  my ($pghost, $pgport) = ($node->host, $node->port);
  my $server_user = $opt{server_user} ? " user=$opt{server_user}" : '';
  append_to_file("$dir/userlist.txt", join('', map { qq{"$_" ""\n} } @{ $opt{users} }));
  append_to_file("$dir/pgbouncer.ini", qq{
[databases]
app = host=$pghost port=$pgport dbname=app$server_user

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $opt{pool_mode}
default_pool_size = $opt{pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = $opt{max_client_conn}
max_db_connections = $opt{pool_size}
server_reset_query = $opt{server_reset_query}
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
});
  my ($out, $err) = ('', '');
  my $handle = IPC::Run::start([$opt{bin}, "$dir/pgbouncer.ini"], '>', \$out, '2>', \$err);

  # Wait until pgbouncer accepts connections (bounded by the default timeout).
  my $dsn = "host=127.0.0.1 port=$port dbname=app user=$opt{users}[0]";
  my $ready = 0;
  for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
    my ($o, $e) = ('', '');
    IPC::Run::run(['psql', '-XAtq', '-d', $dsn, '-c', 'SELECT 1'], '<', '/dev/null', '>', \$o, '2>', \$e);
    if ($o eq "1\n") { $ready = 1; last; }
    select(undef, undef, undef, 0.1);
  }
  ok($ready, 'pgbouncer accepts connections') or BAIL_OUT("pgbouncer did not start: $err");
  return (port => $port, dir => $dir, handle => $handle);
}

1;
