# The cascade worker survives its own crash (kill -9), an immediate shutdown
# and a terminate; a rolled-back deletion leaves no event. Every expected key
# is deleted exactly once and no other key is touched.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_crash');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
restart_after_crash = on
insight.cascade_batch_size = 1000
insight.cascade_naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION insight_keys CASCADE');

sub worker_pid {
  return $node->safe_psql('postgres',
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app'");
}
sub wait_for_worker {
  $node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app'")
    or die 'no cascade worker in database app';
}
wait_for_worker();

# Each batch sleeps 50 ms (a statement trigger on the audit log), so a
# 100k-key cascade in batches of 1000 lasts at least 5 s: long enough to be
# interrupted half-way, whatever the machine.
$node->safe_psql('app', q{
CREATE FUNCTION public.slow_batch() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END$$;
CREATE TRIGGER slow_batch AFTER INSERT ON insight.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION public.slow_batch();
CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO public.ids VALUES
  ('org1', insight.create_organization('org one')),
  ('org2', insight.create_organization('org two')),
  ('doomed', insight.create_user('doomed@example.com')),
  ('bystander', insight.create_user('bystander@example.com')),
  ('c', insight.create_user('c@example.com')),
  ('d', insight.create_user('d@example.com')),
  ('e', insight.create_user('e@example.com'));
CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS
$$SELECT id FROM public.ids WHERE name = $1$$;
SELECT insight.set_membership(public.id(u), public.id(o), 'read_write')
  FROM unnest(ARRAY['doomed', 'bystander', 'c', 'd', 'e']) u, unnest(ARRAY['org1', 'org2']) o;
SELECT insight.set_membership(public.id('doomed'), public.id('org1'), 'org_admin');
-- Keys inserted directly: generate() 100k times would take minutes.
CREATE FUNCTION public.add_keys(who text, org text, n int, kind text DEFAULT 'user') RETURNS void
LANGUAGE sql AS $$
  INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by, created_by_label, name, hint, secret_hash)
  SELECT md5(random()::text || g), kind, public.id(org),
         CASE WHEN kind = 'user' THEN public.id(who) END,
         CASE WHEN kind = 'organization' THEN public.id(who) END,
         who, who || '-' || g, 'hint', '\x00'
    FROM generate_series(1, n) g
$$;
SELECT public.add_keys('doomed', 'org1', 60000);
SELECT public.add_keys('doomed', 'org2', 40000);
SELECT public.add_keys('doomed', 'org1', 3, 'organization');
SELECT public.add_keys('bystander', 'org1', 500);
SELECT public.add_keys('bystander', 'org2', 500);
SELECT public.add_keys('c', 'org1', 30000);
SELECT public.add_keys('d', 'org2', 10000);
SELECT public.add_keys('e', 'org1', 700);
});
my $total_before = $node->safe_psql('app', 'SELECT count(*) FROM insight.api_keys');
is($total_before, '141703', 'keys created');

# ---- ROLLBACK of a deletion leaves no event
my $events = $node->safe_psql('app', 'SELECT count(*) FROM insight.cascade_queue');
$node->safe_psql('app', q{BEGIN; SELECT insight.delete_user(public.id('e')); ROLLBACK;});
is($node->safe_psql('app', 'SELECT count(*) FROM insight.cascade_queue'), $events,
  'a rolled-back deletion enqueues nothing');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('e')}),
  '700', 'and its keys stay');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.audit_log WHERE action = 'user.deleted'}),
  '0', 'and nothing is audited');

# ---- kill -9 in the middle of a 100k-key cascade
my $worker_before = worker_pid();
my $event = $node->safe_psql('app', q{
  SELECT insight.delete_user(public.id('doomed'));
  SELECT max(id) FROM insight.cascade_queue WHERE event = 'user_deleted'});
$node->poll_query_until('app',
  "SELECT keys_done >= 10000 FROM insight.cascade_queue WHERE id = $event")
  or die 'the cascade did not start';
my $done_before_kill = $node->safe_psql('app', "SELECT keys_done FROM insight.cascade_queue WHERE id = $event");
ok($done_before_kill >= 10000 && $done_before_kill < 100000,
  "killed half-way ($done_before_kill of 100000 done)");
my $log_offset = -s $node->logfile;
kill 'KILL', $worker_before;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
wait_for_worker();
isnt(worker_pid(), $worker_before, 'the postmaster restarted and the launcher started a new worker');
$node->poll_query_until('app', "SELECT state = 'done' FROM insight.cascade_queue WHERE id = $event")
  or die 'the cascade did not finish after the crash';

sub check_user_cascade {
  my ($event, $who, $expected, $label) = @_;
  is($node->safe_psql('app', "SELECT state || ' ' || keys_done || ' ' || attempts FROM insight.cascade_queue WHERE id = $event"),
    "done $expected 1", "$label: event done once, every key counted once");
  is($node->safe_psql('app', "SELECT count(*) FROM insight.api_keys WHERE kind = 'user' AND owner_id = public.id('$who')"),
    '0', "$label: every user key of the deleted user is gone");
  is($node->safe_psql('app', "SELECT count(*) || ' ' || count(DISTINCT key_id) FROM insight.audit_log "
      . "WHERE action = 'key.deleted' AND (detail->>'event')::bigint = $event"),
    "$expected $expected", "$label: each deleted key audited exactly once");
  is($node->safe_psql('app', "SELECT count(*) FROM insight.audit_log "
      . "WHERE action = 'cascade.applied' AND (detail->>'event')::bigint = $event"),
    '1', "$label: the cascade is recorded once");
}
check_user_cascade($event, 'doomed', 100000, 'kill -9');
is($node->safe_psql('app', q{SELECT count(*) || ' ' || bool_and(creator_deleted) FROM insight.api_keys
    WHERE kind = 'organization' AND created_by = public.id('doomed')}),
  '3 true', 'the organization keys the deleted user generated are kept, creator shown deleted');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bystander')}),
  '1000', 'no other key is touched');
is($node->safe_psql('app', 'SELECT count(*) FROM insight.api_keys'), 141703 - 100000,
  'exactly the doomed keys are gone');

# ---- pg_ctl stop -m immediate with one event half done and one pending
my $event_c = $node->safe_psql('app', q{
  SELECT insight.delete_user(public.id('c'));
  SELECT max(id) FROM insight.cascade_queue WHERE event = 'user_deleted'});
my $event_d = $node->safe_psql('app', q{
  SELECT insight.delete_user(public.id('d'));
  SELECT max(id) FROM insight.cascade_queue WHERE event = 'user_deleted'});
$node->poll_query_until('app', "SELECT keys_done >= 5000 FROM insight.cascade_queue WHERE id = $event_c")
  or die 'the cascade did not start';
my $states = $node->safe_psql('app',
  "SELECT string_agg(state, ' ' ORDER BY id) FROM insight.cascade_queue WHERE id IN ($event_c, $event_d)");
is($states, 'running pending', 'stopping with one event half done and one pending');
$node->stop('immediate');
$node->start;
wait_for_worker();
$node->poll_query_until('app',
  "SELECT bool_and(state = 'done') FROM insight.cascade_queue WHERE id IN ($event_c, $event_d)")
  or die 'the cascades did not finish after the restart';
check_user_cascade($event_c, 'c', 30000, 'immediate stop, half done');
check_user_cascade($event_d, 'd', 10000, 'immediate stop, pending');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('bystander')}),
  '1000', 'no other key is touched after the restart');

# ---- SIGTERM: a clean exit, no crash; the launcher starts it again
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $pid = worker_pid();
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$node->poll_query_until('postgres',
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app' AND pid <> $pid")
  or die 'no new worker after SIGTERM';
ok($node->log_contains(qr/terminating background worker "insight_keys cascade worker" due to administrator command/, $log_offset),
  'SIGTERM ends the worker cleanly');
ok(!$node->log_contains(qr/terminated by signal|reinitializing/, $log_offset), 'without a crash');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time, 'the server did not restart');

# The worker still works after all this.
my $event_e = $node->safe_psql('app', q{
  SELECT insight.delete_user(public.id('e'));
  SELECT max(id) FROM insight.cascade_queue WHERE event = 'user_deleted'});
$node->poll_query_until('app', "SELECT state = 'done' FROM insight.cascade_queue WHERE id = $event_e")
  or die 'the last cascade did not finish';
check_user_cascade($event_e, 'e', 700, 'after SIGTERM');

$node->stop;
done_testing();
