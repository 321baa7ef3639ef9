-- Task listing (sort keys, search, one index per sort order) and idempotency keys.
-- Mirrors migrations/sqlite/ of the same name.

-- What titles sort by and what `q` searches: the Unicode lower case of the title, and of
-- title and description joined by U+0001. The application computes both on every write.
-- COLLATE "C" orders by code point, exactly as SQLite's BINARY does, so that both backends
-- sort titles identically whatever the database's locale.
ALTER TABLE tasks ADD COLUMN title_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN search_key text NOT NULL DEFAULT '';
UPDATE tasks SET title_key = lower(title), search_key = lower(title) || chr(1) || lower(description);

-- One index per sort order, each led by the owner and ending with the id tie-breaker.
CREATE INDEX tasks_owner_updated_at_id ON tasks (owner_id, updated_at, id);
CREATE INDEX tasks_owner_due_at_id ON tasks (owner_id, due_at, id);
CREATE INDEX tasks_owner_priority_id ON tasks (owner_id, priority, id);
CREATE INDEX tasks_owner_title_key_id ON tasks (owner_id, title_key, id);

-- Idempotency-Key of POST /tasks, per user (see the SQLite migration).
CREATE TABLE idempotency_keys (
    owner_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         text        NOT NULL,
    fingerprint text        NOT NULL,
    created_at  timestamptz NOT NULL,
    status      smallint    NULL,
    body        text        NULL,
    location    text        NULL,
    etag        text        NULL,
    PRIMARY KEY (owner_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
