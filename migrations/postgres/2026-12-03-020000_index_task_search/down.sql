-- The extension stays: other objects may use it.
DROP INDEX tasks_search_key_trgm;
