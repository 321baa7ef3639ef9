DELETE FROM tasks WHERE trashed_at IS NOT NULL;
DROP INDEX tasks_trashed_at;
ALTER TABLE tasks DROP COLUMN trashed_by;
ALTER TABLE tasks DROP COLUMN trashed_at;
