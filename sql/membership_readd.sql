-- A member removed and re-added (in one transaction, or in two before the
-- cascade runs) does not get the old keys back: verification answers
-- OWNER_INACTIVE for them from the commit of the removal, the removal's
-- cascade deletes exactly the keys that existed when the membership was
-- removed and counts them, and keys generated after the re-adding stay VALID.
-- An event queued by 1.1 (no cut-off) is applied by the membership rule. No
-- worker here: the cascades wait for apply_cascades(). Own database.
\set own_db regress_readd_db
\ir sql/fixtures/own_database.sql
CREATE EXTENSION insight_keys CASCADE;
RESET client_min_messages;

\ir sql/fixtures/issued_keys.sql
CREATE FUNCTION verified(key_name text) RETURNS text LANGUAGE sql AS
$$SELECT concat_ws(' ', v.code, v.role) FROM issued i, insight.verify(i.api_key) v WHERE i.name = key_name$$;
CREATE FUNCTION queue() RETURNS TABLE (event text, who text, org text, state text, keys_done bigint)
LANGUAGE sql AS $$SELECT event, name_of(user_id), name_of(org_id), state, keys_done
                     FROM insight.cascade_queue ORDER BY id$$;
-- Which issued keys still exist.
CREATE FUNCTION stored_keys() RETURNS text LANGUAGE sql AS
$$SELECT string_agg(i.name, ',' ORDER BY i.name) FROM issued i JOIN insight.api_keys k ON k.id = i.key_id$$;

INSERT INTO ids VALUES ('acme', insight.create_organization('acme')),
                       ('globex', insight.create_organization('globex')),
                       ('bob', insight.create_user('bob@example.com'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_write'),
       insight.set_membership(id('bob'), id('globex'), 'read_write');
SELECT issue('bob', 'acme', 'a-old'), issue('bob', 'globex', 'g-old');
-- cached by this backend's verify cache before the change
SELECT verified('a-old') AS a_old, verified('a-old') AS a_old_cached;

-- Removed and re-added in one transaction: the old key is not VALID once it
-- commits, even under the new role; a key generated afterwards is.
BEGIN;
SELECT insight.remove_membership(id('bob'), id('acme'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_only');
COMMIT;
SELECT verified('a-old') AS a_old_after_readd;
SELECT issue('bob', 'acme', 'a-new');
SELECT verified('a-new') AS a_new;
-- The key principal path answers the same.
BEGIN;
SELECT insight.authenticate((SELECT api_key FROM issued WHERE name = 'a-old'));
ROLLBACK;
-- A role change keeps the keys of the membership.
SELECT insight.set_membership(id('bob'), id('acme'), 'org_admin');
SELECT verified('a-new') AS a_new_after_role_change, verified('a-old') AS a_old;
SELECT * FROM queue();
SELECT insight.apply_cascades() AS applied;
SELECT * FROM queue();
SELECT stored_keys();
SELECT verified('a-old') AS a_old_after_cascade, verified('a-new') AS a_new_after_cascade;

-- Removed and re-added in two transactions before the cascade runs.
SELECT issue('bob', 'globex', 'g-old2');
SELECT insight.remove_membership(id('bob'), id('globex'));
SELECT verified('g-old') AS g_old_removed;
SELECT insight.set_membership(id('bob'), id('globex'), 'read_write');
SELECT verified('g-old') AS g_old_after_readd, verified('g-old2') AS g_old2_after_readd;
SELECT issue('bob', 'globex', 'g-new');
SELECT verified('g-new') AS g_new;
SELECT insight.apply_cascades() AS applied;
SELECT * FROM queue();
SELECT stored_keys();
SELECT verified('g-new') AS g_new_after_cascade;

-- In one transaction, the keys that existed before the removal (a-tx-before,
-- a-new) go with it; one generated after the re-adding stays.
BEGIN;
SELECT issue('bob', 'acme', 'a-tx-before');
SELECT insight.remove_membership(id('bob'), id('acme'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_write');
SELECT issue('bob', 'acme', 'a-tx-after');
COMMIT;
SELECT verified('a-tx-before') AS a_tx_before, verified('a-tx-after') AS a_tx_after,
       verified('a-new') AS a_new;
SELECT insight.apply_cascades() AS applied;
SELECT event, state, keys_done FROM insight.cascade_queue ORDER BY id DESC LIMIT 1;
SELECT stored_keys();

-- Two removals before the cascade: each event deletes its own keys.
SELECT insight.remove_membership(id('bob'), id('acme'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_write');
SELECT issue('bob', 'acme', 'a-between');
SELECT insight.remove_membership(id('bob'), id('acme'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_write');
SELECT issue('bob', 'acme', 'a-last');
SELECT verified('a-between') AS a_between, verified('a-last') AS a_last;
SELECT insight.apply_cascades() AS applied;
SELECT event, state, keys_done FROM insight.cascade_queue ORDER BY id DESC LIMIT 2;
SELECT stored_keys();

-- An event queued by version 1.1 has no cut-off: it deletes the keys that no
-- membership at least as old as the key covers (here a-last, whose
-- membership was replaced), and keeps the others.
BEGIN;
SELECT insight.remove_membership(id('bob'), id('acme'));
SELECT insight.set_membership(id('bob'), id('acme'), 'read_write');
COMMIT;
SELECT issue('bob', 'acme', 'a-legacy-after');
UPDATE insight.cascade_queue SET generation_cutoff = NULL WHERE state = 'pending';
SELECT insight.apply_cascades() AS applied;
SELECT event, state, keys_done FROM insight.cascade_queue ORDER BY id DESC LIMIT 1;
SELECT stored_keys();
SELECT verified('a-legacy-after') AS a_legacy_after;
-- and without a membership at all, every key of the user in that organization
SELECT insight.remove_membership(id('bob'), id('globex'));
UPDATE insight.cascade_queue SET generation_cutoff = NULL WHERE state = 'pending';
SELECT insight.apply_cascades() AS applied;
SELECT event, state, keys_done FROM insight.cascade_queue ORDER BY id DESC LIMIT 1;
SELECT stored_keys();

-- Deleting the user: every key of theirs, in every organization.
SELECT insight.set_membership(id('bob'), id('globex'), 'read_only');
SELECT issue('bob', 'globex', 'g-x');
SELECT insight.delete_user(id('bob'));
SELECT verified('a-legacy-after') AS a_legacy_after, verified('g-x') AS g_x;
SELECT insight.apply_cascades() AS applied;
SELECT event, state, keys_done FROM insight.cascade_queue ORDER BY id DESC LIMIT 1;
SELECT stored_keys();

\ir sql/fixtures/own_database_end.sql
RESET client_min_messages;
