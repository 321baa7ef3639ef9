-- `tasks` tasks (psql variable) for the users of the temporary table bench_owners, grouped by
-- owner in owner order, numbered from `first_row`. The same shape as the SQLite seed in
-- bench/bench.py (task_row): row n is created 1.000003 s after row n-1 from 2025-01-01, a
-- quarter done, a third without due date, priorities in turn, every 10th tagged "work" and
-- every 20th "home" too. title_key and search_key are what the application computes (the
-- titles and descriptions are ASCII, so SQL's lower() agrees with it). Each task is in its
-- owner's inbox (the list whose id is the owner's), at the top level, at the position the
-- migration to lists gave existing tasks (`z`, the id's hex, `1`: creation order).
\set ON_ERROR_STOP on
WITH owners AS (SELECT count(*) AS n FROM bench_owners),
rows AS (
    SELECT n, o.id AS owner, created,
           (ARRAY['Buy milk', 'Write report', 'Call Alice', 'Fix the bike', 'Plan trip',
                  'Review pull request', 'Pay bills', 'Book dentist', 'Water plants',
                  'Renew passport'])[n % 10 + 1] || ' #' || n AS title,
           CASE WHEN n % 2 = 0 THEN ''
                ELSE 'Seeded by bench/run.sh for the load benchmark, row ' || n || '.' END
               AS description,
           lpad(to_hex(floor(extract(epoch FROM created) * 1000)::bigint), 12, '0') AS h
    FROM (
        SELECT i, :first_row + i AS n,
               timestamptz '2025-01-01 00:00:00+00'
                   + (:first_row + i) * interval '1000003 microseconds' AS created
        FROM generate_series(0::bigint, :tasks - 1) AS i
    ) AS numbered
    JOIN bench_owners o ON o.rn = numbered.i * (SELECT n FROM owners) / :tasks
    ORDER BY i
),
ided AS (
    SELECT rows.*, (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7'
                    || substr(gen_random_uuid()::text, 16))::uuid AS id
    FROM rows
),
inserted AS (
    INSERT INTO tasks (id, created_by, list_id, position, title, description, is_done,
                       completed_at, priority, due_at, created_at, updated_at, version,
                       title_key, search_key)
    SELECT id, owner, owner, 'z' || replace(id::text, '-', '') || '1',
           title, description, n % 4 = 0,
           CASE WHEN n % 4 = 0 THEN created + interval '1 hour' END,
           n % 3,
           CASE WHEN n % 3 <> 0 THEN created + (n % 30 + 1) * interval '1 day' END,
           created,
           CASE WHEN n % 4 = 0 THEN created + interval '1 hour' ELSE created END,
           1, lower(title), lower(title) || chr(1) || lower(description)
    FROM ided
    ORDER BY n
    RETURNING id, title
),
numbers AS (SELECT id, split_part(title, '#', 2)::bigint AS n FROM inserted)
INSERT INTO task_tags (task_id, position, tag)
SELECT id, 0, 'work' FROM numbers WHERE n % 10 = 0
UNION ALL
SELECT id, 1, 'home' FROM numbers WHERE n % 20 = 0;

DROP TABLE bench_owners;
