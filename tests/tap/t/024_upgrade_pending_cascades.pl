# A library newer than the installed extension (1.1 catalog, before ALTER
# EXTENSION UPDATE) keeps identity changes and cascades working as 1.1 did;
# an event queued then (it has no generation cut-off) is applied after the
# update by the membership rule; keys from before the update keep their
# meaning, and a member removed and re-added after the update does not get
# the old keys back. No worker (the library is not preloaded): the queue
# waits for apply_cascades().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade_cascades');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE db');
$node->safe_psql('db', "CREATE EXTENSION insight_keys VERSION '1.1' CASCADE");
$node->safe_psql('db', q{
  CREATE TABLE public.ids (name text PRIMARY KEY, id uuid NOT NULL);
  CREATE FUNCTION public.id(text) RETURNS uuid LANGUAGE sql STABLE AS $$SELECT id FROM public.ids WHERE name = $1$$;
  CREATE TABLE public.issued (name text PRIMARY KEY, api_key text NOT NULL);
  CREATE FUNCTION public.issue(who text, org text, name text) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM insight.act_as(public.id(who));
    INSERT INTO public.issued SELECT issue.name, g.api_key FROM insight.generate_user_key(public.id(org), issue.name) g;
    PERFORM insight.reset_principal();
  END $$;
  CREATE FUNCTION public.code(key_name text) RETURNS text LANGUAGE sql AS
  $$SELECT v.code FROM public.issued i, insight.verify(i.api_key) v WHERE i.name = key_name$$;
  INSERT INTO public.ids VALUES ('acme', insight.create_organization('acme')),
                                ('globex', insight.create_organization('globex')),
                                ('ann', insight.create_user('ann@example.com')),
                                ('bob', insight.create_user('bob@example.com'));
  SELECT insight.set_membership(public.id(u), public.id(o), 'read_write')
    FROM unnest(ARRAY['ann', 'bob']) u, unnest(ARRAY['acme', 'globex']) o;
  SELECT public.issue('ann', 'acme', 'ann-acme'), public.issue('ann', 'globex', 'ann-globex'),
         public.issue('bob', 'acme', 'bob-acme');
});
sub run { my ($sql) = @_; return $node->safe_psql('db', $sql); }
sub queue { return run(q{SELECT string_agg(concat_ws(':', event, state, keys_done), ',' ORDER BY id) FROM insight.cascade_queue}); }

# Under the 1.1 catalog.
run(q{SELECT insight.remove_membership(public.id('ann'), public.id('globex'))});
is(run(q{SELECT code('ann-globex')}), 'OWNER_INACTIVE', '1.1 catalog: a removed member\'s key is OWNER_INACTIVE at once');
is(run(q{SELECT insight.apply_cascades()}), '1', '1.1 catalog: apply_cascades() applies the event');
is(queue(), 'membership_removed:done:1', '1.1 catalog: ... deleting the key');
run(q{SELECT insight.remove_membership(public.id('ann'), public.id('acme'))});
is(queue(), 'membership_removed:done:1,membership_removed:pending:0', '1.1 catalog: an event left pending at the update');

run('ALTER EXTENSION insight_keys UPDATE');
is(run(q{SELECT extversion FROM pg_extension WHERE extname = 'insight_keys'}), '1.4', 'updated to 1.4');
is(run(q{SELECT count(*) FROM insight.cascade_queue WHERE generation_cutoff IS NULL}), '2', 'the events from 1.1 have no cut-off');
is(run(q{SELECT code('bob-acme') || ' ' || code('ann-acme')}), 'VALID OWNER_INACTIVE', 'keys from before the update keep their answers');
is(run(q{SELECT insight.apply_cascades()}), '1', 'the event queued under 1.1 is applied after the update');
is(queue(), 'membership_removed:done:1,membership_removed:done:1', '... by the membership rule, deleting the key');
is(run(q{SELECT code('ann-acme') || ' ' || code('bob-acme')}), 'NOT_FOUND VALID', '... of that member only');

# After the update: removed and re-added before the cascade runs.
run(q{SELECT insight.remove_membership(public.id('bob'), public.id('acme'))});
run(q{SELECT insight.set_membership(public.id('bob'), public.id('acme'), 'read_only')});
run(q{SELECT public.issue('bob', 'acme', 'bob-acme-new')});
is(run(q{SELECT code('bob-acme') || ' ' || code('bob-acme-new')}), 'OWNER_INACTIVE VALID',
  'a key from before the update does not come back with a re-added membership');
is(run(q{SELECT insight.apply_cascades()}), '1', 'the removal is applied');
is(run(q{SELECT concat_ws(':', event, state, keys_done) FROM insight.cascade_queue ORDER BY id DESC LIMIT 1}),
  'membership_removed:done:1', '... deleting the old key');
is(run(q{SELECT code('bob-acme') || ' ' || code('bob-acme-new')}), 'NOT_FOUND VALID', '... and keeping the new one');

$node->stop;
done_testing();
