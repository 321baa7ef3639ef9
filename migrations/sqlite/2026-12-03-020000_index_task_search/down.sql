DROP TRIGGER task_search_after_update;
DROP TRIGGER task_search_after_delete;
DROP TRIGGER task_search_after_insert;
DROP TABLE task_search;
