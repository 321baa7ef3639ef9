-- The change log: one row per change a user can see, written in the same transaction as
-- the change, read by GET /changes in (txn, seq) order after a cursor. Mirrors
-- migrations/sqlite/ of the same name.
--
-- A sequence alone would not do: it hands numbers out as transactions ask, not as they
-- commit, so a reader could see 11 before 10 commits and skip 10 for good. Each row
-- carries the id of the transaction that wrote it (`txn`, pg_current_xact_id(), which
-- never wraps), and readers only return rows whose `txn` is below the oldest transaction
-- still running in their snapshot (pg_snapshot_xmin): no transaction that could still add
-- a row sorting earlier is left. `seq` orders the rows of one transaction.
--
-- `user_id` scopes a row to the user who may see it (tasks are private to their owner);
-- `list_id` stays null until tasks live in lists.
CREATE TABLE changes (
    seq       bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    txn       bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    user_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entity    text        NOT NULL CHECK (entity IN ('task', 'list')),
    op        text        NOT NULL CHECK (op IN ('upsert', 'delete')),
    entity_id uuid        NOT NULL,
    list_id   uuid        NULL,
    at        timestamptz NOT NULL
);

-- A reader's feed: one range scan after its cursor. Also serves the cascade from users and
-- the purge's deletes by key.
CREATE UNIQUE INDEX changes_user_id_txn_seq ON changes (user_id, txn, seq);

-- Housekeeping forgets changes by age.
CREATE INDEX changes_at ON changes (at);
