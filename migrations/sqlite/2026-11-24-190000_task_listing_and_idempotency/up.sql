-- Task listing (sort keys, search, one index per sort order) and idempotency keys.
-- Mirrors migrations/postgres/ of the same name.

-- What titles sort by and what `q` searches: the Unicode lower case of the title, and of
-- title and description joined by U+0001 (a control character, which neither may contain).
-- The application computes both on every write, so that every backend orders and matches
-- alike. The backfill uses SQL's lower(), which on SQLite folds ASCII only: rows written
-- before this migration get exact keys when they are next updated.
ALTER TABLE tasks ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
UPDATE tasks SET title_key = lower(title), search_key = lower(title) || char(1) || lower(description);

-- One index per sort order, each led by the owner so that a page never reads other users'
-- tasks, and ending with id, the tie-breaker, so that keyset pagination can seek.
CREATE INDEX tasks_owner_updated_at_id ON tasks (owner_id, updated_at, id);
CREATE INDEX tasks_owner_due_at_id ON tasks (owner_id, due_at, id);
CREATE INDEX tasks_owner_priority_id ON tasks (owner_id, priority, id);
CREATE INDEX tasks_owner_title_key_id ON tasks (owner_id, title_key, id);

-- Idempotency-Key of POST /tasks, per user. The primary key arbitrates concurrent
-- duplicates; `status` is NULL while the first request runs, then the response is kept
-- for replay.
CREATE TABLE idempotency_keys (
    owner_id    TEXT     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT     NOT NULL,
    fingerprint TEXT     NOT NULL,
    created_at  TEXT     NOT NULL,
    status      SMALLINT NULL,
    body        TEXT     NULL,
    location    TEXT     NULL,
    etag        TEXT     NULL,
    PRIMARY KEY (owner_id, key)
) WITHOUT ROWID;

-- For purging expired keys.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
