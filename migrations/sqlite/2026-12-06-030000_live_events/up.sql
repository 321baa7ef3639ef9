-- Live events. Mirrors migrations/postgres/ of the same name. Tickets let a browser's
-- EventSource (which cannot send headers) open GET /events: single use, 30 seconds, stored
-- as the SHA-256 of the secret, standing for the session that asked for them.
CREATE TABLE event_tickets (
    ticket_hash TEXT NOT NULL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at  TEXT NOT NULL
);
CREATE INDEX event_tickets_expires_at ON event_tickets (expires_at);
CREATE INDEX event_tickets_user_id ON event_tickets (user_id);
CREATE INDEX event_tickets_session_id ON event_tickets (session_id);

-- Which readers have changes after a position: on SQLite `seq` is the rowid (txn is 0),
-- so the log's own order serves that range; the index mirrors PostgreSQL's.
CREATE INDEX changes_txn_seq ON changes (txn, seq);
