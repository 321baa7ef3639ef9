-- An index for `q`, the substring search of titles and descriptions, so that a search costs
-- what it finds rather than the length of every stored text. Mirrors migrations/postgres/ of
-- the same name (there a pg_trgm GIN index on the same column).
--
-- An FTS5 table with the trigram tokenizer over tasks.search_key (the Unicode lower case of
-- title and description, computed by the application): a phrase query of three or more
-- characters finds exactly the rows that contain it. `case_sensitive 1` because the column
-- is lower case already. It is an external-content table: it stores only the index, keyed by
-- the tasks' rowids, and the triggers below keep it in step with every insert, update and
-- delete (cascades included). The listing still checks `search_key LIKE` on what the index
-- finds, so results are what they were without it.
--
-- VACUUM may renumber the rowids of `tasks` (its primary key is not an INTEGER PRIMARY KEY):
-- after a VACUUM, rebuild the index with
--   INSERT INTO task_search (task_search) VALUES ('rebuild');
CREATE VIRTUAL TABLE task_search USING fts5 (
    search_key,
    content = 'tasks',
    content_rowid = 'rowid',
    tokenize = 'trigram case_sensitive 1'
);

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

-- Index the tasks already there.
INSERT INTO task_search (task_search) VALUES ('rebuild');
