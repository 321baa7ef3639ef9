DROP TABLE task_tags;
DROP INDEX tasks_owner_created_at_id;
DROP TABLE tasks;
DROP TABLE users;
