ALTER TABLE idempotency_keys ADD COLUMN status SMALLINT NULL;
ALTER TABLE idempotency_keys ADD COLUMN body TEXT NULL;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT NULL;
ALTER TABLE idempotency_keys ADD COLUMN etag TEXT NULL;
UPDATE idempotency_keys
SET status = 201,
    body = task,
    location = '/tasks/' || json_extract(task, '$.id'),
    etag = '"' || json_extract(task, '$.version') || '"'
WHERE task IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN task;
