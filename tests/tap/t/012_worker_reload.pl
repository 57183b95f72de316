# Settings reload on SIGHUP (the batch size, observed through the
# transactions that deleted the keys), and an event that keeps failing backs
# off, ends 'failed' with its error and blocks nothing behind it; each failure
# is logged with the error's SQLSTATE, detail and context; a cancel stops a
# batch without counting against its event.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('worker_reload');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.cascade_batch_size = 1000
insight.cascade_naptime = 1
insight.cascade_max_attempts = 2
insight.cascade_worker_nice = 5
log_error_verbosity = verbose
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
CREATE EXTENSION insight_keys CASCADE;
CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO public.ids SELECT 'org', insight.create_organization('org');
INSERT INTO public.ids SELECT u, insight.create_user(u || '@example.com')
  FROM unnest(ARRAY['u1', 'u2', 'poisoned', 'after', 'late', 'slow']) u;
CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS
$$SELECT id FROM public.ids WHERE name = $1$$;
SELECT insight.set_membership(id, public.id('org'), 'read_write') FROM public.ids WHERE name <> 'org';
CREATE FUNCTION public.add_keys(who text, n int) RETURNS void LANGUAGE sql AS $$
  INSERT INTO insight.api_keys (lookup_id, kind, org_id, owner_id, created_by_label, name, hint, secret_hash)
  SELECT md5(who || g), 'user', public.id('org'), public.id(who), who, who || '-' || g, 'hint', '\x00'
    FROM generate_series(1, n) g
$$;
SELECT public.add_keys('u1', 5000), public.add_keys('u2', 5000),
       public.add_keys('poisoned', 10), public.add_keys('after', 10), public.add_keys('slow', 10);
-- The size of each batch: the keys deleted by one transaction.
CREATE FUNCTION public.batches(who text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(n::text, ',' ORDER BY n DESC) FROM (
    SELECT count(*) AS n FROM insight.audit_log a JOIN insight.cascade_queue q
        ON q.id = (a.detail->>'event')::bigint
     WHERE a.action = 'key.deleted' AND q.user_id = public.id(who)
     GROUP BY a.xmin::text) b
$$;
});
$node->poll_query_until('postgres',
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app'")
  or die 'no worker';

my $worker = $node->safe_psql('postgres',
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app'");
$node->wait_for_log(qr/insight_keys cascade worker started: batch_size=1000 naptime=1s max_attempts=2 nice=5/);
pass('the worker starts with the settings of postgresql.conf');
my $nice = `ps -o ni= -p $worker`;
$nice =~ s/\s+//g;
is($nice, '5', 'and runs at the configured nice value');

sub delete_and_wait {
  my ($who) = @_;
  $node->safe_psql('app', "SELECT insight.delete_user(public.id('$who'))");
  $node->poll_query_until('app', "SELECT state = 'done' FROM insight.cascade_queue WHERE user_id = public.id('$who')")
    or die "no cascade for $who";
}

delete_and_wait('u1');
is($node->safe_psql('app', q{SELECT public.batches('u1')}), '1000,1000,1000,1000,1000',
  'batches of insight.cascade_batch_size = 1000 keys, one transaction each');

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER SYSTEM SET insight.cascade_batch_size = 2500');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
$node->wait_for_log(qr/insight_keys cascade worker reloaded: batch_size=2500/, $log_offset);
pass('SIGHUP reloads the settings');
delete_and_wait('u2');
is($node->safe_psql('app', q{SELECT public.batches('u2')}), '2500,2500', 'the new batch size applies');

# ---- a failing event: retried with backoff, then failed; later events go on
$node->safe_psql('app', q{
CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action = 'key.deleted' AND NEW.user_id = public.id('poisoned') THEN
    RAISE EXCEPTION 'poisoned cascade' USING ERRCODE = 'XP001', DETAIL = 'the poison''s detail';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER poison BEFORE INSERT ON insight.audit_log FOR EACH ROW EXECUTE FUNCTION public.poison();
});
$node->safe_psql('app', q{SELECT insight.delete_user(public.id('poisoned'))});
delete_and_wait('after');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('after')}),
  '0', 'an event behind a failing one is applied');
$node->poll_query_until('app', q{SELECT state = 'failed' FROM insight.cascade_queue WHERE user_id = public.id('poisoned')})
  or die 'the poisoned event never failed';
is($node->safe_psql('app', q{SELECT attempts || ' ' || last_error || ' ' || (finished_at IS NOT NULL)
    FROM insight.cascade_queue WHERE user_id = public.id('poisoned')}),
  '2 poisoned cascade true', 'after insight.cascade_max_attempts attempts the event is failed, with its error');
my $poisoned = $node->safe_psql('app', q{SELECT id FROM insight.cascade_queue WHERE user_id = public.id('poisoned')});
my @failures = (slurp_file($node->logfile) =~ /cascade event $poisoned failed: poisoned cascade/g);
is(scalar(@failures), 2, 'tried exactly insight.cascade_max_attempts times, each failure logged');
my @reports = (slurp_file($node->logfile) =~ m{WARNING:  XP001: insight_keys cascade worker: cascade event $poisoned failed: poisoned cascade\n[^\n]*DETAIL:  the poison's detail\n[^\n]*CONTEXT:  PL/pgSQL function public\.poison\(\) line \d+ at RAISE}g);
is(scalar(@reports), 2, 'each failure is reported with the SQLSTATE, detail and context of its error');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('poisoned')}),
  '10', 'the failed attempts changed nothing');
is($node->safe_psql('app', q{SELECT insight.apply_cascades()}), '0', 'apply_cascades() leaves a failed event alone');

# ---- a cancel is not a failure of the event (as for apply_cascades())
$node->safe_psql('app', q{
DROP TRIGGER poison ON insight.audit_log;
CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action = 'key.deleted' AND NEW.user_id = public.id('slow') THEN
    FOR i IN 1..1200 LOOP
      EXIT WHEN EXISTS (SELECT 1 FROM public.ids WHERE name = 'slow-released');
      PERFORM pg_sleep(0.05);
    END LOOP;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER slow BEFORE INSERT ON insight.audit_log FOR EACH ROW EXECUTE FUNCTION public.slow();
});
$log_offset = -s $node->logfile;
$node->safe_psql('app', q{SELECT insight.delete_user(public.id('slow'))});
$node->poll_query_until('postgres', "SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $worker")
  or die 'the worker never reached the slow trigger';
$node->safe_psql('postgres', "SELECT pg_cancel_backend($worker)");
$node->wait_for_log(qr/WARNING:  57014: insight_keys cascade worker: cascade event \d+ interrupted, not counted as an attempt: canceling statement due to user request/,
  $log_offset);
pass('a cancel of the worker is reported with its SQLSTATE');
$node->safe_psql('app', q{INSERT INTO public.ids VALUES ('slow-released', gen_random_uuid())});
$node->poll_query_until('app', q{SELECT state = 'done' FROM insight.cascade_queue WHERE user_id = public.id('slow')})
  or die 'the slow cascade never finished';
is($node->safe_psql('app', q{SELECT attempts || ' ' || (last_error IS NULL) FROM insight.cascade_queue WHERE user_id = public.id('slow')}),
  '1 true', 'the canceled attempt was not counted: the event took one attempt');

# ---- settings of the database that would break batches do not reach the worker
$node->safe_psql('app', 'DROP TRIGGER slow ON insight.audit_log');
$node->safe_psql('postgres', q{ALTER DATABASE app SET statement_timeout = '1ms';
  ALTER DATABASE app SET default_transaction_read_only = on});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker)");
$node->poll_query_until('postgres',
  "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'insight_keys cascade worker' AND datname = 'app' AND pid <> $worker")
  or die 'no new worker';
# The test's own sessions override the database's settings at connection
# start (PGOPTIONS), not with SET statements: a SET is itself a statement, and
# under load even it can outlast a 1 ms statement_timeout.
local $ENV{PGOPTIONS} = '-c statement_timeout=0 -c default_transaction_read_only=off';
$node->safe_psql('app', q{SELECT public.add_keys('late', 5000)});
$node->safe_psql('app', q{SELECT insight.delete_user(public.id('late'))});
# A bounded wait for the cascade.
my $state = '';
for (my $i = 0; $i < 1800 && $state ne 'done'; $i++) {
  $state = $node->safe_psql('app', q{SELECT state FROM insight.cascade_queue WHERE user_id = public.id('late')});
  usleep(100_000) if $state ne 'done';
}
is($state, 'done', 'the cascade ran under the database settings');
is($node->safe_psql('app', q{SELECT count(*) FROM insight.api_keys WHERE owner_id = public.id('late')}),
  '0', 'statement_timeout and a read-only default set on the database do not stop the worker');

$node->stop;
done_testing();
