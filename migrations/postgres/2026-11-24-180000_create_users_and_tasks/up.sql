-- Accounts and their private task lists. Mirrors migrations/sqlite/ of the same name:
-- the same tables, columns, nullability, constraints and indexes, in native types
-- (uuid for ids, timestamptz for instants). tests in crates/storage check that the two
-- trees stay in step.

CREATE TABLE users (
    id            uuid        NOT NULL PRIMARY KEY,
    email         text        NOT NULL UNIQUE,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('user', 'admin')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE tasks (
    id           uuid        NOT NULL PRIMARY KEY,
    owner_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    is_done      boolean     NOT NULL DEFAULT false,
    completed_at timestamptz NULL,
    -- Priority::rank: 0 low, 1 medium, 2 high (so that ORDER BY priority follows urgency).
    priority     smallint    NOT NULL CHECK (priority BETWEEN 0 AND 2),
    due_at       timestamptz NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint      NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- The owner's listing (oldest first, ties broken by id); also serves the foreign key's
-- ON DELETE CASCADE from users.
CREATE INDEX tasks_owner_created_at_id ON tasks (owner_id, created_at, id);

-- Tags live in their own table; `position` keeps the order the client gave. The primary
-- key serves lookups by task and the cascade.
CREATE TABLE task_tags (
    task_id  uuid     NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position smallint NOT NULL CHECK (position >= 0),
    tag      text     NOT NULL,
    PRIMARY KEY (task_id, tag)
);
