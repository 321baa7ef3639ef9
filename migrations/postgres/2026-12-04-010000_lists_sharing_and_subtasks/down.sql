-- Back to private tasks: every task returns to its creator (tasks of accounts deleted since
-- are dropped), and lists go.
DROP INDEX tasks_assignee_id;
DROP INDEX tasks_parent_id;
DROP INDEX tasks_created_by;
DROP INDEX tasks_list_parent_position_id;
DROP INDEX tasks_list_title_key_id;
DROP INDEX tasks_list_priority_id;
DROP INDEX tasks_list_due_at_id;
DROP INDEX tasks_list_updated_at_id;
DROP INDEX tasks_list_created_at_id;
ALTER TABLE tasks DROP COLUMN assignee_id;
ALTER TABLE tasks DROP COLUMN position;
ALTER TABLE tasks DROP COLUMN parent_id;
ALTER TABLE tasks DROP COLUMN list_id;
DELETE FROM tasks WHERE created_by NOT IN (SELECT id FROM users);
ALTER TABLE tasks RENAME COLUMN created_by TO owner_id;
ALTER TABLE tasks ADD CONSTRAINT tasks_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX tasks_owner_created_at_id ON tasks (owner_id, created_at, id);
CREATE INDEX tasks_owner_updated_at_id ON tasks (owner_id, updated_at, id);
CREATE INDEX tasks_owner_due_at_id ON tasks (owner_id, due_at, id);
CREATE INDEX tasks_owner_priority_id ON tasks (owner_id, priority, id);
CREATE INDEX tasks_owner_title_key_id ON tasks (owner_id, title_key, id);
DROP TABLE list_invitations;
DROP TABLE list_members;
DROP TABLE lists;
