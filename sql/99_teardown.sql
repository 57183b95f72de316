-- The end of the preloaded schedule: drop the roles 00_setup created for the
-- whole suite. Roles are cluster-wide and outlive the test database, so that
-- the suite runs again on the same server (make installcheck).
SET client_min_messages = warning;
DROP OWNED BY regress_app, regress_untrusted_app, regress_nobody, regress_operator;
DROP ROLE regress_app, regress_untrusted_app, regress_nobody, regress_operator;
RESET client_min_messages;
SELECT count(*) AS regress_roles_left FROM pg_roles WHERE rolname LIKE 'regress\_%';
