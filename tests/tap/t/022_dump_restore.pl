# pg_dump -Fc of a database using insight_keys, restored with pg_restore into
# a fresh database: every key verifies as before (VALID, EXPIRED,
# OWNER_INACTIVE, NOT_FOUND), principals and row-level security show each
# role the same rows, the audit trail is the same, and a cascade that was
# pending at dump time is kept and applied by apply_cascades() afterwards.
# The library is preloaded but the cluster has no room for a cascade worker
# (max_worker_processes = 1 holds only the launcher), so the queue waits for
# apply_cascades(); the same dump is then restored into a cluster that does
# not preload the library at all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InsightFixture qw(preloaded_node create_people);

my $node = preloaded_node('dump', db => 'src', conf => q{
max_worker_processes = 1
max_logical_replication_workers = 0
max_parallel_workers = 0
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker'}),
  '0', 'no cascade worker runs in this cluster');

create_people($node, 'src', 'dr', dave => 1);
$node->safe_psql('src', q{
  CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS $$SELECT id FROM public.ids WHERE name = $1$$;
  SELECT insight.set_membership(public.id('alice'), public.id('acme'), 'read_write');
  SELECT insight.set_membership(public.id('bob'), public.id('globex'), 'org_admin');
  SELECT insight.set_membership(public.id('carol'), public.id('acme'), 'org_admin');
  SELECT insight.set_membership(public.id('carol'), public.id('globex'), 'read_only');
});

my %key;    # name => [id, plaintext]
sub generate {
  my ($role, $fn, $org, $name, $expires) = @_;
  my $exp = defined $expires ? ", '$expires'" : '';
  my $sql = $role =~ /^dr_/
    ? "SET ROLE $role; SELECT key_id || ' ' || api_key FROM insight.$fn(public.id('$org'), '$name'$exp)"
    : "SET ROLE dr_app; BEGIN; SELECT insight.act_as(public.id('$role')); SELECT key_id || ' ' || api_key FROM insight.$fn(public.id('$org'), '$name'$exp); COMMIT;";
  my $o = $node->safe_psql('src', $sql);
  $o =~ s/^\s+//;
  $key{$name} = [split / /, $o];
}
generate('dr_alice', 'generate_user_key', 'acme', 'alice one');
generate('dr_alice', 'generate_user_key', 'acme', 'alice expired', '2001-01-01 00:00:00+00');
generate('dr_bob', 'generate_user_key', 'globex', 'bob one');
generate('dr_bob', 'generate_org_key', 'globex', 'globex app');
generate('carol', 'generate_user_key', 'acme', 'carol acme');
generate('carol', 'generate_user_key', 'globex', 'carol globex');
generate('carol', 'generate_org_key', 'acme', 'acme app by carol');
generate('dr_dave', 'generate_org_key', 'acme', 'acme app by dave');
generate('dr_alice', 'generate_user_key', 'acme', 'alice revoked');
$node->safe_psql('src', "SET ROLE dr_alice; SELECT insight.revoke_key('$key{'alice revoked'}[0]')");
# carol is deleted; without the worker her cascade stays pending.
$node->safe_psql('src', "SELECT insight.delete_user(public.id('carol'))");
is($node->safe_psql('src', q{SELECT string_agg(event || ':' || state, ',' ORDER BY id) FROM insight.cascade_queue}),
  'user_deleted:pending', 'the deletion\'s cascade is pending at dump time');

# What each principal sees, as one text per database.
# psql's output, or the error, without dying: a broken restore must be reported,
# not abort the test.
sub q_on {
  my ($on, $db, $sql) = @_;
  my ($o, $e) = ('', '');
  $on->psql($db, $sql, stdout => \$o, stderr => \$e, on_error_stop => 1);
  return $e =~ /ERROR:\s*(.*)/ ? "ERROR $1" : $o;
}

sub snapshot {
  my ($on, $db) = @_;
  my @lines;
  for my $name (sort keys %key) {
    push @lines, "verify $name: " . q_on($on, $db, qq{
      SELECT concat_ws(' ', code, kind, role, key_id = '$key{$name}[0]') FROM insight.verify('$key{$name}[1]')});
  }
  for my $role (qw(dr_alice dr_bob dr_dave dr_stranger)) {
    push @lines, "$role keys: " . q_on($on, $db, "SET ROLE $role; SELECT string_agg(name || '/' || coalesce(owner_email, '-') || '/' || org_name || '/' || creator_deleted, ',' ORDER BY name) FROM insight.keys");
    push @lines, "$role base: " . q_on($on, $db, "SET ROLE $role; SELECT count(*) FROM insight.api_keys");
    push @lines, "$role orgs: " . q_on($on, $db, "SET ROLE $role; SELECT string_agg(name, ',' ORDER BY name) FROM insight.organizations");
    push @lines, "$role users: " . q_on($on, $db, "SET ROLE $role; SELECT string_agg(email, ',' ORDER BY email) FROM insight.users");
    push @lines, "$role memberships: " . q_on($on, $db, "SET ROLE $role; SELECT count(*) FROM insight.memberships");
    push @lines, "$role audit: " . q_on($on, $db, "SET ROLE $role; SELECT count(*) FROM insight.audit");
    push @lines, "$role cascades: " . q_on($on, $db, "SET ROLE $role; SELECT count(*) FROM insight.cascades");
    push @lines, "$role whoami: " . q_on($on, $db, "SET ROLE $role; SELECT concat_ws(' ', kind, via, platform_admin) FROM insight.whoami()");
  }
  for my $name ('bob one', 'globex app') {
    push @lines, "as key $name: " . q_on($on, $db, qq{
      SET ROLE dr_stranger;
      BEGIN;
      SELECT concat_ws(' ', k.kind, k.role) FROM insight.authenticate('$key{$name}[1]') k;
      SELECT string_agg(name, ',' ORDER BY name) FROM insight.keys;
      COMMIT;});
  }
  push @lines, "audit: " . q_on($on, $db, q{
    SELECT md5(string_agg(concat_ws('|', id, at, actor_kind, actor_user_id, actor_key_id, actor_db_role, action, org_id, user_id, key_id, detail), E'\n' ORDER BY id)) || ' ' || count(*)
      FROM insight.audit_log});
  push @lines, "queue: " . q_on($on, $db, q{
    SELECT string_agg(concat_ws('|', id, event, user_id, org_id, state, keys_done, attempts, actor_kind), ',' ORDER BY id) FROM insight.cascade_queue});
  push @lines, "hashes: " . q_on($on, $db, q{
    SELECT md5(string_agg(lookup_id || ':' || encode(secret_hash, 'hex'), ',' ORDER BY lookup_id)) FROM insight.api_keys});
  push @lines, "sequences: " . q_on($on, $db, q{
    SELECT (SELECT last_value FROM insight.audit_log_id_seq) || ' ' || (SELECT last_value FROM insight.cascade_queue_id_seq)});
  # one line per fact, whatever the fact's own line breaks
  return join("\n", map { s/\n/ | /gr } @lines);
}

my $before = snapshot($node, 'src');
like($before, qr/^verify carol acme: OWNER_INACTIVE user /m, 'before: the deleted user\'s key is OWNER_INACTIVE');
like($before, qr/^verify alice expired: EXPIRED user /m, 'before: the expired key is EXPIRED');
like($before, qr/^verify alice revoked: NOT_FOUND\s*$/m, 'before: the revoked key is NOT_FOUND');
like($before, qr/^dr_alice keys: alice expired\/alice\@example.com\/acme\/false,alice one\/alice\@example.com\/acme\/false$/m,
  'before: alice sees her own keys only');

my $dump = $node->basedir . '/src.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src')], 'pg_dump -Fc');
# Restores $dump into database $db of $into; extra environment for
# pg_restore in %env. Returns pg_restore's stderr without the expected
# warnings.
sub restore {
  my ($into, $db, %env) = @_;
  $into->command_ok(['createdb', '-h', $into->host, '-p', $into->port, $db], "createdb $db");
  my ($rout, $rerr) = ('', '');
  local @ENV{keys %env} = values %env;
  my $ok = IPC::Run::run(['pg_restore', '-d', $into->connstr($db), $dump], '>', \$rout, '2>', \$rerr);
  ok($ok, "pg_restore into $db exits 0") or diag($rerr);
  is($rerr =~ s/^.*WARNING:.*cascade worker is not running.*\n(.*HINT:.*\n)?//mr, '', "pg_restore into $db reports no error");
}

# Everything a restored database must answer as the source did, and its
# pending cascade applied afterwards.
sub check_restored {
  my ($on, $db) = @_;
  my $after = snapshot($on, $db);
  my @b = split /\n/, $before;
  my @a = split /\n/, $after;
  my @diff = map { "  before: $b[$_]\n  after:  " . ($a[$_] // '(missing)') } grep { ($a[$_] // '') ne $b[$_] } 0 .. $#b;
  ok(!@diff, "$db: every verify answer, every role's view, the audit trail, the queue and the hashes are as in the source")
    or diag(join("\n", @diff));

  is(q_on($on, $db, 'SELECT insight.apply_cascades()'), '1', "$db: apply_cascades() applies the one pending event");
  is(q_on($on, $db, q{SELECT string_agg(event || ':' || state || ':' || keys_done, ',' ORDER BY id) FROM insight.cascade_queue}),
    'user_deleted:done:2', "$db: the event is done and removed carol's two user keys");
  is(q_on($on, $db, "SELECT code FROM insight.verify('$key{'carol acme'}[1]')") . ' '
       . q_on($on, $db, "SELECT code FROM insight.verify('$key{'carol globex'}[1]')"),
    'NOT_FOUND NOT_FOUND', "$db: carol's keys are gone");
  is(q_on($on, $db, "SELECT concat_ws(' ', code, kind) FROM insight.verify('$key{'acme app by carol'}[1]')"),
    'VALID organization', "$db: the organization key carol generated stays VALID");
  is(q_on($on, $db, "SET ROLE dr_dave; SELECT creator_deleted FROM insight.keys WHERE name = 'acme app by carol'"),
    't', "$db: ... and shows its creator as deleted");
  is(q_on($on, $db, "SELECT code FROM insight.verify('$key{'alice one'}[1]')"), 'VALID', "$db: other keys are untouched");
  is(q_on($on, $db, q{
    SELECT insight.create_organization('initech') IS NOT NULL;
    SELECT count(*) = count(DISTINCT id) FROM insight.audit_log;}), "t\nt",
    "$db: new audit rows after the restore get fresh ids");
}

# The plain command of the brief.
restore($node, 'dst');
check_restored($node, 'dst');
# With triggers off for the load (the restoring session only): the extension's
# identity triggers then cannot re-audit the restored rows.
restore($node, 'dst_replica', PGOPTIONS => '-c session_replication_role=replica');
check_restored($node, 'dst_replica');
is(q_on($node, 'src', q{SELECT state FROM insight.cascade_queue}), 'pending', 'the source queue is untouched');

# The same dump into a cluster that does not preload the library.
my $plain = PostgreSQL::Test::Cluster->new('nopreload');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', q{
  CREATE ROLE dr_alice LOGIN; CREATE ROLE dr_bob LOGIN; CREATE ROLE dr_dave LOGIN; CREATE ROLE dr_stranger LOGIN;});
restore($plain, 'dst_nopreload');
check_restored($plain, 'dst_nopreload');
$plain->stop;

$node->stop;
done_testing();
