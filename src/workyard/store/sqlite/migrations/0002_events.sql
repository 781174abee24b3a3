ALTER TABLE sessions ADD COLUMN last_event_id TEXT;

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX events_by_session ON events (session_id, id);
