ALTER TABLE idempotency_keys ADD COLUMN status smallint NULL;
ALTER TABLE idempotency_keys ADD COLUMN body text NULL;
ALTER TABLE idempotency_keys ADD COLUMN location text NULL;
ALTER TABLE idempotency_keys ADD COLUMN etag text NULL;
UPDATE idempotency_keys
SET status = 201,
    body = task,
    location = '/tasks/' || (task::json ->> 'id'),
    etag = '"' || (task::json ->> 'version') || '"'
WHERE task IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN task;
