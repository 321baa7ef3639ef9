-- GET /trash: a list's trashed tasks, newest deletion first (trashed_at, then id, both
-- descending), sought from the page's cursor; over trashed tasks only, like the retention
-- purge's tasks_trashed_at.
CREATE INDEX tasks_trash_by_list ON tasks (list_id, trashed_at, id) WHERE trashed_at IS NOT NULL;
