-- The whole schema as the migrations leave it (checked by a test). Read this, not the migrations.

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    environment_ids TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    config TEXT NOT NULL,
    metadata TEXT NOT NULL,
    archived_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments (id),
    agent TEXT NOT NULL,
    title TEXT,
    metadata TEXT NOT NULL,
    work_id TEXT,
    archived_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    version INTEGER NOT NULL,
    last_event_id TEXT
);

CREATE INDEX sessions_by_environment ON sessions (environment_id, id);

CREATE TABLE work_items (
    id TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments (id),
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    started_at INTEGER,
    latest_heartbeat_at INTEGER,
    stop_requested_at INTEGER,
    stopped_at INTEGER,
    metadata TEXT NOT NULL,
    delivered_at INTEGER,
    delivered_to TEXT,
    holder TEXT,
    lease_expires_at INTEGER,
    version INTEGER NOT NULL,
    secret_hash TEXT
);

CREATE INDEX work_by_environment ON work_items (environment_id, id);
CREATE INDEX work_queued ON work_items (environment_id, id) WHERE state = 'queued';
CREATE INDEX work_leases ON work_items (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX work_by_session ON work_items (session_id, id);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX events_by_session ON events (session_id, id);

CREATE INDEX work_by_state ON work_items (environment_id, state, id);

CREATE TABLE idempotency_keys (
    token_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Dashboard sessions (migration 0006): by the SHA-256 of the cookie's id; expired rows pruned.
CREATE TABLE dashboard_sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
CREATE INDEX work_by_stopped_at ON work_items (environment_id, stopped_at) WHERE stopped_at IS NOT NULL;
CREATE INDEX work_by_acknowledged_at ON work_items (environment_id, acknowledged_at) WHERE acknowledged_at IS NOT NULL;
