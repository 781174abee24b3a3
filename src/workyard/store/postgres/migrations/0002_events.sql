ALTER TABLE sessions ADD COLUMN last_event_id TEXT COLLATE "C";

CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL,
    type TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX events_by_session ON events (session_id, id);
