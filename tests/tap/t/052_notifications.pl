# Every audit event is announced on channel insight_keys after its transaction
# commits, with the payload {"id": <insight.audit id>, "action": "<action>"} and
# nothing else; nothing for a rolled-back transaction or savepoint. Events the
# cascade worker records (set-based, in its own transactions) are announced
# too. A psql session LISTENs; "nothing arrived" is shown with a barrier: a
# later committed event's announcement, which is delivered after every earlier
# commit's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('notifications');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.cascade_naptime = 1
});
$node->start;
sub sql { return $node->safe_psql('postgres', $_[0], extra_params => ['-U', $_[1] // 'postgres']); }

sql(q{CREATE EXTENSION insight_keys CASCADE; CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE watcher LOGIN;});
my $org = sql(q{SELECT insight.create_organization('Acme')});
my $alice = sql(q{SELECT insight.create_user('alice@example.com', 'Alice', false, 'alice')});
my $bob = sql(q{SELECT insight.create_user('bob@example.com', 'Bob', false, 'bob')});
sql(qq{SELECT insight.set_membership('$alice', '$org', 'org_admin');
       SELECT insight.set_membership('$bob', '$org', 'read_write')});

# Any role may listen: an unprivileged login that is nobody to the extension.
my $listener = $node->background_psql('postgres', extra_params => ['-U', 'watcher']);
$listener->query_safe('LISTEN insight_keys');
my $first_id = sql(q{SELECT coalesce(max(id), 0) FROM insight.audit_log}) + 1;

my @received;    # payloads, in arrival order
# Polls the listener (each statement makes psql print what has arrived) until
# n more payloads came, or 60 s passed. Returns the new ones.
sub receive {
	my ($n) = @_;
	my $start = scalar(@received);
	my $deadline = time() + 60;
	while (scalar(@received) < $start + $n && time() < $deadline) {
		my $out = $listener->query_safe('SELECT 1');
		push @received, $1
		  while $out =~ /Asynchronous notification "insight_keys" with payload "(.*?)" received from server process/g;
		select(undef, undef, undef, 0.05) if scalar(@received) < $start + $n;
	}
	return @received[$start .. $#received];
}
sub last_audit { return split /\|/, sql(q{SELECT id, action FROM insight.audit_log ORDER BY id DESC LIMIT 1}); }

# ---- a committed event
my ($k1_id, $k1) = split /\|/, sql(qq{SELECT key_id, api_key FROM insight.generate_user_key('$org', 'first')}, 'alice');
my ($id, $action) = last_audit();
is($action, 'key.generated', 'generate_user_key is audited as key.generated');
is_deeply([receive(1)], [qq({"id": $id, "action": "key.generated"})],
	'the listener receives {"id": <audit id>, "action": "key.generated"} after the commit');
is(sql(qq{SELECT action FROM insight.audit WHERE id = $id}), 'key.generated',
	'the id is the row id that insight.audit shows');

# ---- a rolled-back transaction: nothing; the next committed event is next
sql(qq{BEGIN; SELECT insight.generate_user_key('$org', 'rolled back'); ROLLBACK;}, 'alice');
sql(qq{SELECT insight.revoke_key('$k1_id')}, 'alice');
($id, $action) = last_audit();
is_deeply([receive(1)], [qq({"id": $id, "action": "key.revoked"})],
	'nothing for a rolled-back transaction: the next payload is the revocation committed after it');

# ---- a rolled-back savepoint: only what the transaction kept
sql(qq{BEGIN;
SAVEPOINT s;
SELECT insight.generate_user_key('$org', 'in a rolled-back savepoint');
ROLLBACK TO SAVEPOINT s;
SAVEPOINT t;
SELECT insight.generate_user_key('$org', 'in a released savepoint');
RELEASE SAVEPOINT t;
COMMIT;}, 'alice');
my @kept = split /\n/, sql(q{SELECT id FROM insight.audit_log WHERE detail->>'name' = 'in a released savepoint'});
is(scalar(@kept), 1, 'the released savepoint\'s event is in the audit');
is(sql(q{SELECT count(*) FROM insight.audit_log WHERE detail->>'name' = 'in a rolled-back savepoint'}), '0',
	'the rolled-back savepoint\'s event is not');
is_deeply([receive(1)], [qq({"id": $kept[0], "action": "key.generated"})],
	'nothing for a rolled-back savepoint; the released one is announced');

# ---- several events in one transaction, and a leaked-key report by nobody
my ($k2, $k3) = split /\n/, sql(qq{BEGIN;
SELECT api_key FROM insight.generate_user_key('$org', 'two a');
SELECT api_key FROM insight.generate_user_key('$org', 'two b');
COMMIT;}, 'alice');
my @two = split /\n/, sql(q{SELECT id FROM insight.audit_log WHERE detail->>'name' IN ('two a', 'two b') ORDER BY id});
is_deeply([receive(2)], [map { qq({"id": $_, "action": "key.generated"}) } @two],
	'two events of one transaction: two payloads, in order');
is(sql(qq{SELECT insight.report_leaked('$k2', 'found in a public gist')}, 'watcher'), 't', 'nobody reports a leaked key');
($id, $action) = last_audit();
is_deeply([receive(1)], [qq({"id": $id, "action": "key.revoked"})], 'the leaked-key report is announced as key.revoked');
sql(qq{BEGIN; SELECT insight.report_leaked('$k3'); ROLLBACK;}, 'watcher');

# ---- the worker: deleting bob queues a cascade; the worker deletes his key
# (one set-based statement audits each key) and records the cascade.
sql(qq{SELECT insight.generate_user_key('$org', 'bob key')}, 'bob');
sql(qq{SELECT insight.delete_user('$bob')});
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM insight.cascade_queue WHERE state <> 'done'})
  or die 'the worker never finished the cascade';
my @worker_rows = split /\n/, sql(q{SELECT id || ',' || action FROM insight.audit_log
	WHERE actor_kind = 'cascade' ORDER BY id});
ok((grep { /,key\.deleted$/ } @worker_rows) >= 1, 'the worker audited the key it deleted');

# ---- everything committed was announced exactly once, nothing else was
my @expected = map { my ($i, $a) = split /\|/; qq({"id": $i, "action": "$a"}) }
  split /\n/, sql(qq{SELECT id, action FROM insight.audit_log WHERE id >= $first_id ORDER BY id});
receive(scalar(@expected) - scalar(@received));
my %order = map { $expected[$_] => $_ } 0 .. $#expected;
is_deeply([sort { ($order{$a} // -1) <=> ($order{$b} // -1) } @received], \@expected,
	'every committed audit row was announced once, including the worker\'s, and nothing else');
my @worker_payloads = map { my ($i, $a) = split /,/; qq({"id": $i, "action": "$a"}) } @worker_rows;
is(scalar(grep { my $p = $_; grep { $_ eq $p } @received } @worker_payloads), scalar(@worker_rows),
	'the worker\'s events (key.deleted, cascade.applied) were announced');

# ---- no payload names a key, an organization, a user or anything but id and action
my @keys = ($k1, $k2, $k3);
is(scalar(grep { my $p = $_; grep { index($p, $_) >= 0 } @keys } @received), 0, 'no payload holds a key');
is(scalar(grep { /ik_(user|org)_/ || /[0-9a-f]{8}-[0-9a-f]{4}-/ } @received), 0,
	'no payload holds key text or a uuid (key, organization or user id)');
is(scalar(grep { !/^\{"id": \d+, "action": "[a-z_.]+"\}$/ } @received), 0,
	'every payload is exactly {"id": <n>, "action": "<action>"}');

$listener->quit;
$node->stop;
done_testing();
