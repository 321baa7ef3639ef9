-- Live events. Tickets let a browser's EventSource (which cannot send headers) open
-- GET /events: single use, 30 seconds, stored as the SHA-256 of the secret, standing for
-- the session that asked for them. Purged by housekeeping once expired.
CREATE TABLE event_tickets (
    ticket_hash text        NOT NULL PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX event_tickets_expires_at ON event_tickets (expires_at);
CREATE INDEX event_tickets_user_id ON event_tickets (user_id);
CREATE INDEX event_tickets_session_id ON event_tickets (session_id);

-- The hub of live events asks, on each wake, which readers have changes after a position:
-- one range of the log in its order, whoever the readers are.
CREATE INDEX changes_txn_seq ON changes (txn, seq);
