-- E-mail verification, one-time account tokens (password reset, verification) and the
-- durable queue of outgoing mail. Mirrors migrations/postgres/ of the same name (ids and
-- timestamps as TEXT, as in the first migration).

-- Whether the account's owner proved to read mail at its address. Existing accounts are
-- unverified; with auth.email_verification = required their next login mails them a token.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- One-time tokens, stored only as SHA-256 hashes. A newer token of one purpose deletes the
-- account's unused older ones; a used one stays until it expires, then housekeeping
-- deletes it.
CREATE TABLE account_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- password_reset or email_verification.
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    -- The address it verifies (the account's, or the one it changes to); for a reset, the
    -- account's.
    email      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT NULL
) WITHOUT ROWID;
CREATE INDEX account_tokens_user_id_purpose ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);

-- Outgoing mail, delivered in the background by whichever instance claims it first. A
-- claim moves next_attempt_at one lease ahead, so that a sender that dies leaves the
-- message to another; delivered or given-up messages lose their body at once and are
-- deleted by housekeeping.
CREATE TABLE outbound_mail (
    id              TEXT    NOT NULL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    -- The claim of the sender holding it, if any.
    claim           TEXT    NULL,
    -- When it was delivered or given up.
    finished_at     TEXT    NULL
);
CREATE INDEX outbound_mail_due ON outbound_mail (next_attempt_at) WHERE finished_at IS NULL;
CREATE INDEX outbound_mail_finished_at ON outbound_mail (finished_at)
    WHERE finished_at IS NOT NULL;
