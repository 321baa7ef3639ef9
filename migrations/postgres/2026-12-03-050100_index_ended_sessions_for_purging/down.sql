DROP INDEX sessions_revoked_at;
