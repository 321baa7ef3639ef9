-- Sessions and refresh tokens, and what ends them. Mirrors migrations/sqlite/ of the same
-- name in native types.

-- Grows by one whenever every session of the account must end (password change, "log out
-- everywhere", role change, disabling): a session started at another epoch is over.
ALTER TABLE users ADD COLUMN session_epoch bigint NOT NULL DEFAULT 0;

-- The admin list's default order (keyset pagination over (created_at, id)); the email order
-- uses the UNIQUE index on email.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- One login: the refresh-token family it started. Access tokens name it in their `sid`.
CREATE TABLE sessions (
    id         uuid        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- users.session_epoch when the session started.
    epoch      bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    -- When its newest refresh token expires.
    expires_at timestamptz NOT NULL,
    -- Set when it is ended (logout, reuse of a rotated refresh token).
    revoked_at timestamptz NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Refresh tokens, stored only as SHA-256 hashes. A used token stays (until it expires) so
-- that presenting it again is recognised as reuse.
CREATE TABLE refresh_tokens (
    token_hash text        NOT NULL PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
