# The worker's organization-policy tasks (docs/WORKER.md): with
# revoke_unused_after it revokes the keys whose last use (or creation, if
# never used) is older than that, audited key.revoked with reason "unused";
# it records key.expiring once per key, notify_before ahead of the key's
# effective expiry, and never twice, also across a restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('policy_worker');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'insight_keys'
insight.key_policy_interval = 1
insight.last_used_flush_interval = 86400
insight.cascade_naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION insight_keys CASCADE');
$node->safe_psql('postgres', q{
CREATE TABLE public.k (name text PRIMARY KEY, id uuid NOT NULL, api_key text NOT NULL);
CREATE TABLE public.o (name text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO public.o VALUES ('unused', insight.create_organization('unused org')),
                            ('nopolicy', insight.create_organization('no policy org')),
                            ('expiring', insight.create_organization('expiring org'));
CREATE FUNCTION public.add_key(n text, org text, expires timestamptz DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.k SELECT n, g.key_id, g.api_key
    FROM insight.generate_org_key((SELECT id FROM public.o WHERE name = org), n, expires) g
$$;
CREATE FUNCTION public.kid(text) RETURNS uuid LANGUAGE sql STABLE AS
$$SELECT id FROM public.k WHERE name = $1$$;
SELECT public.add_key('stale', 'unused');
SELECT public.add_key('used_long_ago', 'unused');
SELECT public.add_key('used_lately', 'unused');
SELECT public.add_key('verified_now', 'unused');
SELECT public.add_key('fresh', 'unused');
SELECT public.add_key('other_org', 'nopolicy');
-- Two hours old; last uses as named (written directly, as a flush would).
UPDATE insight.api_keys SET created_at = now() - interval '2 hours'
 WHERE id IN (SELECT id FROM public.k WHERE name <> 'fresh');
UPDATE insight.api_keys SET last_used_at = now() - interval '90 minutes' WHERE id = public.kid('used_long_ago');
UPDATE insight.api_keys SET last_used_at = now() - interval '1 minute' WHERE id = public.kid('used_lately');
});
# A use only in shared memory (the flush interval is a day): the task flushes
# before it decides, so this key is used.
is($node->safe_psql('postgres', q{SELECT code FROM public.k, insight.verify(api_key) WHERE name = 'verified_now'}),
	'VALID', 'verified_now is verified');
$node->safe_psql('postgres', q{
SELECT insight.set_org_policy(id, revoke_unused_after => '1 hour', notify_before => NULL)
  FROM public.o WHERE name = 'unused';
});

$node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM insight.audit_log WHERE action = 'key.revoked'})
	or die 'the unused keys were not revoked';
is($node->safe_psql('postgres', q{SELECT string_agg(name, ',' ORDER BY name) FROM public.k
	WHERE id NOT IN (SELECT id FROM insight.api_keys)}), 'stale,used_long_ago',
	'exactly the keys unused for an hour are revoked');
is($node->safe_psql('postgres', q{
SELECT string_agg(k.name || ':' || a.actor_kind || ':' || (a.detail->>'reason') || ':' || (a.org_id = o.id), ',' ORDER BY k.name)
  FROM insight.audit_log a JOIN public.k ON k.id = a.key_id JOIN public.o ON o.name = 'unused'
 WHERE a.action = 'key.revoked'}),
	'stale:worker:unused:true,used_long_ago:worker:unused:true', 'audited as revoked by the worker, reason unused');
is($node->safe_psql('postgres', q{SELECT code FROM public.k, insight.verify(api_key) WHERE name = 'stale'}),
	'NOT_FOUND', 'a revoked key is gone');
isnt($node->safe_psql('postgres', q{SELECT last_used_at FROM insight.api_keys WHERE id = public.kid('verified_now')}),
	'', 'the use recorded in shared memory was flushed first');

# ---- key.expiring
$node->safe_psql('postgres', q{
SELECT public.add_key('soon', 'expiring', now() + interval '30 minutes');
SELECT public.add_key('later', 'expiring', now() + interval '1 day');
SELECT public.add_key('by_lifetime', 'expiring');
SELECT public.add_key('past', 'expiring', now() + interval '1 day');
SELECT public.add_key('other_org_soon', 'nopolicy', now() + interval '5 minutes');
-- by_lifetime: no expiry of its own; 30 days - 10 minutes old under a 30-day lifetime.
UPDATE insight.api_keys SET created_at = now() - interval '30 days' + interval '10 minutes'
 WHERE id = public.kid('by_lifetime');
UPDATE insight.api_keys SET expires_at = now() - interval '1 minute' WHERE id = public.kid('past');
SELECT insight.set_org_policy(id, max_key_lifetime => '30 days', notify_before => '1 hour')
  FROM public.o WHERE name = 'expiring';
});
$node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM insight.audit_log WHERE action = 'key.expiring'})
	or die 'no key.expiring recorded';

# Across a restart: the worker runs its tasks again (a new stale key is
# revoked, twice over, so a whole pass of both tasks ran after the first
# revocation), and still records nothing twice.
$node->restart;
for my $n (1, 2) {
	$node->safe_psql('postgres', qq{
SELECT public.add_key('stale_$n', 'unused');
UPDATE insight.api_keys SET created_at = now() - interval '2 hours' WHERE id = public.kid('stale_$n');
});
	$node->poll_query_until('postgres', qq{SELECT NOT EXISTS (SELECT 1 FROM insight.api_keys WHERE id = public.kid('stale_$n'))})
		or die "stale_$n was not revoked after the restart";
}
is($node->safe_psql('postgres', q{
SELECT string_agg(k.name || ':' || a.actor_kind || ':' || ((a.detail->>'expires_at')::timestamptz = e.expires_at), ',' ORDER BY k.name)
  FROM insight.audit_log a JOIN public.k ON k.id = a.key_id JOIN insight.keys e ON e.key_id = a.key_id
 WHERE a.action = 'key.expiring'}),
	'by_lifetime:worker:true,soon:worker:true',
	'key.expiring once per key due within notify_before of its effective expiry, with that expiry');
is($node->safe_psql('postgres', q{SELECT string_agg(k.name, ',' ORDER BY k.name) FROM insight.api_keys a
	JOIN public.k ON k.id = a.id WHERE a.expiring_recorded}), 'by_lifetime,soon', 'remembered on the key');
is($node->safe_psql('postgres', q{SELECT count(*) FROM insight.audit_log WHERE action = 'key.revoked'}),
	'4', 'only the stale keys were revoked');

$node->stop;
done_testing();
