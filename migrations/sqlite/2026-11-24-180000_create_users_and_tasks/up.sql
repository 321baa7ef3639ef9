-- Accounts and their private task lists.
--
-- Conventions shared by every table (see migrations/README.md):
-- * ids are hyphenated lower-case UUIDs stored as TEXT;
-- * timestamps are TEXT in one fixed-width RFC 3339 UTC form with exactly six fractional
--   digits and a trailing 'Z' (2026-11-24T18:00:00.123456Z), so that comparing the text
--   compares the instants and indexes on them sort by time.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    disabled      BOOLEAN NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE tasks (
    id           TEXT     NOT NULL PRIMARY KEY,
    owner_id     TEXT     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT     NOT NULL,
    description  TEXT     NOT NULL DEFAULT '',
    is_done      BOOLEAN  NOT NULL DEFAULT 0 CHECK (is_done IN (0, 1)),
    completed_at TEXT     NULL,
    -- Priority::rank: 0 low, 1 medium, 2 high (so that ORDER BY priority follows urgency).
    priority     SMALLINT NOT NULL CHECK (priority BETWEEN 0 AND 2),
    due_at       TEXT     NULL,
    created_at   TEXT     NOT NULL,
    updated_at   TEXT     NOT NULL,
    version      BIGINT   NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- The owner's listing (oldest first, ties broken by id); also serves the foreign key's
-- ON DELETE CASCADE from users.
CREATE INDEX tasks_owner_created_at_id ON tasks (owner_id, created_at, id);

-- Tags live in their own table (portable to PostgreSQL, queryable by tag); `position`
-- keeps the order the client gave. The primary key serves lookups by task and the cascade.
CREATE TABLE task_tags (
    task_id  TEXT     NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position SMALLINT NOT NULL CHECK (position >= 0),
    tag      TEXT     NOT NULL,
    PRIMARY KEY (task_id, tag)
) WITHOUT ROWID;
