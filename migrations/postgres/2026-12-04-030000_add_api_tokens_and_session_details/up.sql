-- Personal API tokens, what GET /me/sessions shows of a session, and the refresh grace
-- period. Mirrors migrations/sqlite/ of the same name in native types.

-- Personal API tokens, stored only as SHA-256 hashes. `prefix` (`tka_` and 16 hex digits of
-- the token) is not secret: it is what a presented token is looked up by, and what its
-- owner sees to recognise it. Deleting a token is its revocation.
CREATE TABLE api_tokens (
    id           uuid        NOT NULL PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- Scope names separated by spaces (`tasks:read tasks:write`).
    scopes       text        NOT NULL,
    prefix       text        NOT NULL,
    token_hash   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NULL,
    -- Written at most once a minute.
    last_used_at timestamptz NULL
);
CREATE UNIQUE INDEX api_tokens_prefix ON api_tokens (prefix);
CREATE INDEX api_tokens_user_id_created_at ON api_tokens (user_id, created_at);
-- Housekeeping deletes expired tokens in batches by their expiry.
CREATE INDEX api_tokens_expires_at ON api_tokens (expires_at);

-- The session's last login or refresh, and the client it was started from (its
-- User-Agent, bounded, and its address as the throttle saw it).
ALTER TABLE sessions ADD COLUMN last_used_at timestamptz NULL;
ALTER TABLE sessions ADD COLUMN user_agent text NULL;
ALTER TABLE sessions ADD COLUMN address text NULL;
UPDATE sessions SET last_used_at = created_at;

-- With `auth.refresh_grace`, a rotated token keeps its successor's hash and the successor
-- sealed with a key derived from the rotated token itself (so nothing usable is stored):
-- presented again within the grace period, it gets the same successor back.
ALTER TABLE refresh_tokens ADD COLUMN successor_hash text NULL;
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed text NULL;
