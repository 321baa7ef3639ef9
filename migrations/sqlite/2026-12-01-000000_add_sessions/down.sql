DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP INDEX users_created_at_id;
ALTER TABLE users DROP COLUMN session_epoch;
