-- The owner of the next pg_tasks.sql: one existing user (psql variable `owner`, a uuid).
\set ON_ERROR_STOP on
CREATE TEMP TABLE bench_owners AS SELECT 0::bigint AS rn, :'owner'::uuid AS id;
