-- An idempotency key now keeps the task its first request created (a snapshot, encoded by
-- the storage crate as JSON), no longer a rendered HTTP response. Mirrors migrations/sqlite/
-- of the same name, which explains why existing keys keep working: a completed key's body
-- is that task as JSON in the very form the snapshot takes, so it becomes the snapshot
-- unchanged; a key still reserved stays reserved. Stop instances of the previous version
-- before migrating: they write the columns dropped here.
ALTER TABLE idempotency_keys ADD COLUMN task text NULL;
UPDATE idempotency_keys SET task = body WHERE status IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys DROP COLUMN body;
ALTER TABLE idempotency_keys DROP COLUMN location;
ALTER TABLE idempotency_keys DROP COLUMN etag;
