DROP INDEX idempotency_keys_created_at;
DROP TABLE idempotency_keys;
DROP INDEX tasks_owner_title_key_id;
DROP INDEX tasks_owner_priority_id;
DROP INDEX tasks_owner_due_at_id;
DROP INDEX tasks_owner_updated_at_id;
ALTER TABLE tasks DROP COLUMN search_key;
ALTER TABLE tasks DROP COLUMN title_key;
