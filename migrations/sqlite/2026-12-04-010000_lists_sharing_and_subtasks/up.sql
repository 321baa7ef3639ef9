-- Lists, their members and invitations; tasks move into lists and gain what subtasks,
-- manual order and assignment need (all of it here, so that the tasks table changes once).
-- Mirrors migrations/postgres/ of the same name; see there for what each part is for.
--
-- Every account gets its inbox, holding its existing tasks: the inbox's id is the
-- account's id. Stop instances of the previous version before migrating.

CREATE TABLE lists (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL,
    inbox_of   TEXT    NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    archived   BOOLEAN NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    version    BIGINT  NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (inbox_of IS NULL OR (inbox_of = id AND NOT archived))
);

CREATE TABLE list_members (
    list_id  TEXT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    added_at TEXT NOT NULL,
    PRIMARY KEY (list_id, user_id)
) WITHOUT ROWID;
CREATE INDEX list_members_user_id_list_id ON list_members (user_id, list_id);

CREATE TABLE list_invitations (
    id         TEXT NOT NULL PRIMARY KEY,
    list_id    TEXT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    invited_by TEXT NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    UNIQUE (list_id, email)
);
CREATE INDEX list_invitations_email ON list_invitations (email);
CREATE INDEX list_invitations_expires_at ON list_invitations (expires_at);
CREATE INDEX list_invitations_invited_by ON list_invitations (invited_by);

INSERT INTO lists (id, name, name_key, inbox_of, archived, created_at, updated_at, version)
SELECT id, 'Inbox', 'inbox', id, 0, created_at, created_at, 1 FROM users;
INSERT INTO list_members (list_id, user_id, role, added_at)
SELECT id, id, 'owner', created_at FROM users;

-- SQLite cannot add a NOT NULL column with a foreign key, nor drop one: the tasks table is
-- rebuilt (create, copy, drop, rename). Dropping the old table would cascade to task_tags,
-- so the tags wait in a temporary table meanwhile; the search index's triggers go with the
-- old table and are made again, and the index is rebuilt (the rows have new rowids).
CREATE TABLE tasks_rebuilt (
    id           TEXT     NOT NULL PRIMARY KEY,
    created_by   TEXT     NOT NULL,
    title        TEXT     NOT NULL,
    description  TEXT     NOT NULL DEFAULT '',
    is_done      BOOLEAN  NOT NULL DEFAULT 0 CHECK (is_done IN (0, 1)),
    completed_at TEXT     NULL,
    priority     SMALLINT NOT NULL CHECK (priority BETWEEN 0 AND 2),
    due_at       TEXT     NULL,
    created_at   TEXT     NOT NULL,
    updated_at   TEXT     NOT NULL,
    version      BIGINT   NOT NULL DEFAULT 1 CHECK (version >= 1),
    title_key    TEXT     NOT NULL DEFAULT '',
    search_key   TEXT     NOT NULL DEFAULT '',
    list_id      TEXT     NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    parent_id    TEXT     NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position     TEXT     NOT NULL,
    assignee_id  TEXT     NULL REFERENCES users (id) ON DELETE SET NULL
);
INSERT INTO tasks_rebuilt (id, created_by, title, description, is_done, completed_at, priority,
                           due_at, created_at, updated_at, version, title_key, search_key,
                           list_id, parent_id, position, assignee_id)
SELECT id, owner_id, title, description, is_done, completed_at, priority, due_at, created_at,
       updated_at, version, title_key, search_key, owner_id, NULL, 'z' || replace(id, '-', '') || '1',
       NULL
FROM tasks;

CREATE TEMPORARY TABLE task_tags_kept AS SELECT task_id, position, tag FROM task_tags;
DROP TABLE task_tags;
DROP TABLE tasks;
ALTER TABLE tasks_rebuilt RENAME TO tasks;
CREATE TABLE task_tags (
    task_id  TEXT     NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position SMALLINT NOT NULL CHECK (position >= 0),
    tag      TEXT     NOT NULL,
    PRIMARY KEY (task_id, tag)
) WITHOUT ROWID;
INSERT INTO task_tags (task_id, position, tag) SELECT task_id, position, tag FROM task_tags_kept;
DROP TABLE task_tags_kept;

CREATE INDEX tasks_list_created_at_id ON tasks (list_id, created_at, id);
CREATE INDEX tasks_list_updated_at_id ON tasks (list_id, updated_at, id);
CREATE INDEX tasks_list_due_at_id ON tasks (list_id, due_at, id);
CREATE INDEX tasks_list_priority_id ON tasks (list_id, priority, id);
CREATE INDEX tasks_list_title_key_id ON tasks (list_id, title_key, id);
CREATE INDEX tasks_list_parent_position_id ON tasks (list_id, parent_id, position, id);
CREATE INDEX tasks_created_by ON tasks (created_by);
CREATE INDEX tasks_parent_id ON tasks (parent_id);
CREATE INDEX tasks_assignee_id ON tasks (assignee_id);

CREATE TRIGGER task_search_after_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;

CREATE TRIGGER task_search_after_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO task_search (task_search, rowid, search_key)
    VALUES ('delete', old.rowid, old.search_key);
END;

CREATE TRIGGER task_search_after_update AFTER UPDATE ON tasks
WHEN old.search_key IS NOT new.search_key BEGIN
    INSERT INTO task_search (task_search, rowid, search_key)
    VALUES ('delete', old.rowid, old.search_key);
    INSERT INTO task_search (rowid, search_key) VALUES (new.rowid, new.search_key);
END;

INSERT INTO task_search (task_search) VALUES ('rebuild');
