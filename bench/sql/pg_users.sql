-- `users` seeded accounts (psql variable), the owners of the next pg_tasks.sql. They never
-- log in, so their password hash is a placeholder. Ids are version-7 UUIDs (time-ordered,
-- like the application's): 48 bits of milliseconds, then random bits.
\set ON_ERROR_STOP on
CREATE TEMP TABLE bench_owners AS
SELECT g - 1 AS rn,
       (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16))::uuid AS id,
       at
FROM (
    SELECT g, at, lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h
    FROM (
        SELECT g, timestamptz '2025-01-01 00:00:00+00' - (:users - g + 1) * interval '1 second' AS at
        FROM generate_series(1::bigint, :users) AS g
    ) AS numbered
) AS stamped;

INSERT INTO users (id, email, password_hash, role, disabled, created_at, updated_at)
SELECT id, 'seed' || rn || '@bench.invalid', 'seeded-never-logs-in', 'user', false, at, at
FROM bench_owners
ORDER BY rn;

-- Every account has its inbox (whose id is the account's), owned by it, as registration
-- makes them.
INSERT INTO lists (id, name, name_key, inbox_of, archived, created_at, updated_at, version)
SELECT id, 'Inbox', 'inbox', id, false, at, at, 1 FROM bench_owners ORDER BY rn;
INSERT INTO list_members (list_id, user_id, role, added_at)
SELECT id, id, 'owner', at FROM bench_owners ORDER BY rn;
