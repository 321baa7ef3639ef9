-- The extension stays: other objects may use it.
DROP FUNCTION task_search_matches(text, text);
DROP INDEX tasks_search_key_trgm;
