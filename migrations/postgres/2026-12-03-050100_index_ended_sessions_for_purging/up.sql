-- Housekeeping deletes ended sessions in batches by when they ended; this index finds them
-- without reading live sessions (which have no revoked_at). Mirrors migrations/sqlite/ of
-- the same name.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
