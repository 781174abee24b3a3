-- Dashboard sessions: a login to /ui, found by the SHA-256 of its random id (the cookie holds the
-- id), pointing at the API token it was opened with. Expired rows are pruned at logins.
CREATE TABLE dashboard_sessions (
    id_hash TEXT COLLATE "C" PRIMARY KEY,
    token_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
