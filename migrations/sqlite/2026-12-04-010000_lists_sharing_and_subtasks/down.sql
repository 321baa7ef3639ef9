-- Back to private tasks (see migrations/postgres/ of the same name): the tasks table is
-- rebuilt as it was, every task returned to its creator.
CREATE TABLE tasks_rebuilt (
    id           TEXT     NOT NULL PRIMARY KEY,
    owner_id     TEXT     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
    search_key   TEXT     NOT NULL DEFAULT ''
);
INSERT INTO tasks_rebuilt
SELECT id, created_by, title, description, is_done, completed_at, priority, due_at, created_at,
       updated_at, version, title_key, search_key
FROM tasks WHERE created_by IN (SELECT id FROM users);
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
INSERT INTO task_tags SELECT * FROM task_tags_kept WHERE task_id IN (SELECT id FROM tasks);
DROP TABLE task_tags_kept;
CREATE INDEX tasks_owner_created_at_id ON tasks (owner_id, created_at, id);
CREATE INDEX tasks_owner_updated_at_id ON tasks (owner_id, updated_at, id);
CREATE INDEX tasks_owner_due_at_id ON tasks (owner_id, due_at, id);
CREATE INDEX tasks_owner_priority_id ON tasks (owner_id, priority, id);
CREATE INDEX tasks_owner_title_key_id ON tasks (owner_id, title_key, id);
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
DROP TABLE list_invitations;
DROP TABLE list_members;
DROP TABLE lists;
