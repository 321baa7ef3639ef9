-- An idempotency key now keeps the task its first request created (a snapshot, encoded by
-- the storage crate as JSON), no longer a rendered HTTP response: status, body, Location
-- and ETag are rendered again from the task on every replay. `task` is NULL while the first
-- request runs. Mirrors migrations/postgres/ of the same name.
--
-- Existing keys keep working. A completed key's stored body is that task as JSON in the
-- very form the snapshot takes (the same fields, names and values), so it becomes the
-- snapshot unchanged and a retry still replays its first answer exactly; the status (always
-- 201), Location and ETag were derived from the task and are derived from it again. A key
-- still reserved has no body and stays reserved. Stop instances of the previous version
-- before migrating: they write the columns dropped here.
ALTER TABLE idempotency_keys ADD COLUMN task TEXT NULL;
UPDATE idempotency_keys SET task = body WHERE status IS NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys DROP COLUMN body;
ALTER TABLE idempotency_keys DROP COLUMN location;
ALTER TABLE idempotency_keys DROP COLUMN etag;
