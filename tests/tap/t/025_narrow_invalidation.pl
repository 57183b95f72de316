# A change to some keys takes only those keys out of other sessions' verify
# caches (docs/DESIGN.md, "Verify cache invalidation"), and every case where
# the ring of changed lookup ids cannot say which keys changed falls back to
# clearing everything: a prepared transaction, more changed keys than one
# transaction names, a ring that wrapped past a session, an identity change,
# and a session's own aborted change.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use InsightFixture qw(preloaded_node);

my $node = preloaded_node('narrow', conf => q{
max_prepared_transactions = 2
insight.last_used_flush_interval = 3600
});
$node->safe_psql('postgres', 'CREATE EXTENSION insight_keys CASCADE');
# 10 named keys of one user, 70 of a second user ("bulk") and 1,100 of a
# third ("churn", revoked one transaction each to wrap the ring).
$node->safe_psql('postgres', q{
  CREATE TABLE public.k (name text PRIMARY KEY, grp text NOT NULL, key_id uuid, api_key text);
  CREATE FUNCTION public.user_keys(org uuid, email text, grp text, prefix text, n int) RETURNS void
  LANGUAGE plpgsql AS $$
  DECLARE who uuid := insight.create_user(email);
  BEGIN
    PERFORM insight.set_membership(who, org, 'read_write');
    PERFORM insight.act_as(who);
    FOR i IN 1..n LOOP
      INSERT INTO public.k SELECT prefix || i, grp, g.key_id, g.api_key
        FROM insight.generate_user_key(org, grp || ' ' || i) g;
    END LOOP;
    PERFORM insight.reset_principal();
  END
  $$;
  DO $$
  DECLARE org uuid := insight.create_organization('narrow');
  BEGIN
    PERFORM public.user_keys(org, 'named@example.com', 'named', 'k', 10);
    PERFORM public.user_keys(org, 'bulk@example.com', 'bulk', 'b', 70);
    FOR n IN 1..1100 LOOP
      INSERT INTO public.k SELECT 'c' || n, 'churn', g.key_id, g.api_key
        FROM insight.generate_org_key(org, 'churn ' || n) g;
    END LOOP;
  END
  $$;
});

my $s = $node->background_psql('postgres');
sub code { my ($name) = @_; return $s->query_safe("SELECT v.code FROM public.k, insight.verify(api_key) v WHERE name = '$name'"); }
sub status { return $s->query_safe('SELECT entries || \' \' || hits || \' \' || misses FROM insight.verify_cache_status()'); }
sub warm { code($_) for @_; }

# 1. A revocation drops that key only.
warm(qw(k1 k2 k3));
is(status(), '3 0 3', 'three keys read once: three entries, three misses');
warm(qw(k1 k2 k3));
is(status(), '3 3 3', 'and read again: three hits');
$node->safe_psql('postgres', "SELECT insight.revoke_key(key_id) FROM public.k WHERE name = 'k1'");
is(code('k1'), 'NOT_FOUND', 'the revoked key is NOT_FOUND at once');
is(status(), '2 3 4', 'only its entry went: two entries left, one more miss');
is(code('k2') . ' ' . code('k3'), 'VALID VALID', 'the other keys are VALID');
is(status(), '2 5 4', 'from the cache: two more hits, no miss');

# 2. Disabling, settings and rotation are narrow too.
$node->safe_psql('postgres', "SELECT insight.disable_key(key_id) FROM public.k WHERE name = 'k2'");
is(code('k2'), 'DISABLED', 'a disabled key is DISABLED at once');
is(code('k3'), 'VALID', 'the other key stays VALID');
is(status(), '2 6 5', 'k3 was a hit, k2 a miss');

# 3. An identity change clears everything.
$node->safe_psql('postgres', q{
  SELECT insight.set_membership(m.user_id, m.org_id, 'read_only')
    FROM insight.memberships m JOIN insight.users u ON u.id = m.user_id
   WHERE u.email = 'named@example.com'});
is($s->query_safe("SELECT v.code || ' ' || v.role FROM public.k, insight.verify(api_key) v WHERE name = 'k3'"),
  'VALID read_only', 'a role change is seen at once');
is(status(), '1 6 6', 'the role change emptied the cache: k3 was a miss');

# 4. A prepared transaction's change is seen when COMMIT PREPARED commits it.
# (disable_key notifies, which PREPARE refuses: the operator's own UPDATE.)
warm(qw(k4 k5));
$node->safe_psql('postgres', q{
  BEGIN;
  UPDATE insight.api_keys SET disabled_at = now() WHERE id = (SELECT key_id FROM public.k WHERE name = 'k4');
  PREPARE TRANSACTION 'narrow_disable';
});
is(code('k4'), 'VALID', 'a prepared, uncommitted disable changes nothing');
# COMMIT PREPARED has no lookup ids to write; a revocation right after it
# writes one, so this session reads a ring with something new in it.
$node->safe_psql('postgres', "COMMIT PREPARED 'narrow_disable'");
$node->safe_psql('postgres', "SELECT insight.revoke_key(key_id) FROM public.k WHERE name = 'k10'");
is(code('k4'), 'DISABLED', 'after COMMIT PREPARED the key is DISABLED');

# 5. More keys in one transaction than it names (64): every cache clears.
warm(map { "b$_" } 1 .. 70);
warm(qw(k5));
$node->safe_psql('postgres', q{
  SELECT count(insight.disable_key(key_id)) FROM public.k WHERE grp = 'bulk'});
is($s->query_safe(q{SELECT count(*) FILTER (WHERE v.code = 'DISABLED') || '/' || count(*)
                      FROM public.k, insight.verify(api_key) v WHERE grp = 'bulk'}),
  '70/70', 'all 70 keys disabled in one transaction are DISABLED');
is(code('k5'), 'VALID', 'an untouched key is VALID');

# 5b. A subtransaction that went broad and was rolled back: the rows its
# parent changes afterwards must still be signalled.
warm(qw(k3));
$node->safe_psql('postgres', q{
  BEGIN;
  SAVEPOINT bulk;
  SELECT count(insight.enable_key(key_id)) FROM public.k WHERE grp = 'bulk';
  ROLLBACK TO SAVEPOINT bulk;
  SELECT insight.disable_key(key_id) FROM public.k WHERE name = 'k3';
  COMMIT;
});
is(code('k3'), 'DISABLED', 'a key changed after a rolled-back bulk change is DISABLED');
is($s->query_safe(q{SELECT count(*) FILTER (WHERE v.code = 'DISABLED')
                      FROM public.k, insight.verify(api_key) v WHERE grp = 'bulk'}),
  '70', 'the rolled-back enables changed nothing');

# 6. A ring that wrapped past this session: 1,100 revocations, one
# transaction each, after k6's; k6's slot in the ring is overwritten.
warm(qw(k6 k7));
$node->safe_psql('postgres', q{
  SELECT insight.revoke_key(key_id) FROM public.k WHERE name = 'k6';
  DO $$
  DECLARE id uuid;
  BEGIN
    FOR id IN SELECT key_id FROM public.k WHERE grp = 'churn' LOOP
      PERFORM insight.revoke_key(id);
      COMMIT;
    END LOOP;
  END
  $$;
});
is(code('k6'), 'NOT_FOUND', 'a revocation 1,100 ring positions ago is still seen');
is(code('k7'), 'VALID', 'the other key is VALID');

# 7. This session's own change, rolled back: what it read of it goes too.
# Another session's revocation meanwhile puts something new in the ring.
warm(qw(k8));
$s->query_safe('BEGIN');
$s->query_safe("SELECT insight.disable_key(key_id) FROM public.k WHERE name = 'k8'");
is(code('k8'), 'DISABLED', 'inside the transaction that disabled it: DISABLED');
$node->safe_psql('postgres', "SELECT insight.revoke_key(key_id) FROM public.k WHERE name = 'k9'");
$s->query_safe('ROLLBACK');
is(code('k8'), 'VALID', 'after ROLLBACK: VALID again');
$s->query_safe('BEGIN');
$s->query_safe('SAVEPOINT s');
$s->query_safe("SELECT insight.disable_key(key_id) FROM public.k WHERE name = 'k8'");
is(code('k8'), 'DISABLED', 'inside the subtransaction that disabled it: DISABLED');
$s->query_safe('ROLLBACK TO SAVEPOINT s');
is(code('k8'), 'VALID', 'after ROLLBACK TO SAVEPOINT: VALID again');
$s->query_safe('COMMIT');

# 8. The same with two sessions warm on the same keys: a third session's
# revocation reaches both.
my $t = $node->background_psql('postgres');
is($t->query_safe("SELECT v.code FROM public.k, insight.verify(api_key) v WHERE name = 'k7'"), 'VALID',
  'second session: k7 VALID');
$node->safe_psql('postgres', "SELECT insight.revoke_key(key_id) FROM public.k WHERE name = 'k7'");
is($t->query_safe("SELECT v.code FROM public.k, insight.verify(api_key) v WHERE name = 'k7'"), 'NOT_FOUND',
  'second session: k7 NOT_FOUND after the revocation');
is(code('k7'), 'NOT_FOUND', 'first session: k7 NOT_FOUND after the revocation');
$t->quit;
$s->quit;
$node->stop;
done_testing();
