-- The change log: one row per change a user can see, written in the same transaction as
-- the change, read by GET /changes in (txn, seq) order after a cursor. Mirrors
-- migrations/postgres/ of the same name.
--
-- SQLite has one writer at a time, so a row number taken inside the write transaction is
-- in commit order: `seq` is that number and `txn` is always 0. AUTOINCREMENT, so that a
-- number is never handed out twice, even after the newest rows were purged (a reader's
-- cursor may point past them).
--
-- `user_id` scopes a row to the user who may see it (tasks are private to their owner);
-- `list_id` stays null until tasks live in lists.
CREATE TABLE changes (
    seq       INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    txn       BIGINT  NOT NULL DEFAULT 0,
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entity    TEXT    NOT NULL CHECK (entity IN ('task', 'list')),
    op        TEXT    NOT NULL CHECK (op IN ('upsert', 'delete')),
    entity_id TEXT    NOT NULL,
    list_id   TEXT    NULL,
    at        TEXT    NOT NULL
);

-- A reader's feed: one range scan after its cursor. Also serves the cascade from users.
CREATE UNIQUE INDEX changes_user_id_txn_seq ON changes (user_id, txn, seq);

-- Housekeeping forgets changes by age.
CREATE INDEX changes_at ON changes (at);
