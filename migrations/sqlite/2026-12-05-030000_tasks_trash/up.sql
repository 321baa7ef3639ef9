-- The trash: a deleted task (and its subtasks) keeps its row, stamped with when and by whom
-- it was trashed, until housekeeping purges it after `trash.retention`. Every task read
-- and write leaves trashed rows out (`trashed_at IS NULL`).
ALTER TABLE tasks ADD COLUMN trashed_at TEXT NULL;
ALTER TABLE tasks ADD COLUMN trashed_by TEXT NULL;
-- The retention purge, over trashed tasks only.
CREATE INDEX tasks_trashed_at ON tasks (trashed_at) WHERE trashed_at IS NOT NULL;
