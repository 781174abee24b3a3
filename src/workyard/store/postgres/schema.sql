-- The whole schema as the migrations leave it (checked by a test). Read this, not the migrations.

CREATE TABLE tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    environment_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE environments (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    config TEXT NOT NULL,
    metadata TEXT NOT NULL,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    environment_id TEXT COLLATE "C" NOT NULL REFERENCES environments (id),
    agent TEXT NOT NULL,
    title TEXT,
    metadata TEXT NOT NULL,
    work_id TEXT,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    version BIGINT NOT NULL,
    last_event_id TEXT COLLATE "C"
);

CREATE INDEX sessions_by_environment ON sessions (environment_id, id);

CREATE TABLE work_items (
    id TEXT COLLATE "C" PRIMARY KEY,
    environment_id TEXT COLLATE "C" NOT NULL REFERENCES environments (id),
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    started_at BIGINT,
    latest_heartbeat_at BIGINT,
    stop_requested_at BIGINT,
    stopped_at BIGINT,
    metadata TEXT NOT NULL,
    delivered_at BIGINT,
    delivered_to TEXT,
    holder TEXT,
    lease_expires_at BIGINT,
    version BIGINT NOT NULL,
    secret_hash TEXT
);

CREATE INDEX work_by_environment ON work_items (environment_id, id);
CREATE INDEX work_queued ON work_items (environment_id, id) WHERE state = 'queued';
CREATE INDEX work_leases ON work_items (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX work_by_session ON work_items (session_id, id);

CREATE TABLE worker_polls (
    environment_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    last_poll_at BIGINT NOT NULL,
    PRIMARY KEY (environment_id, worker_id)
);

CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL,
    type TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX events_by_session ON events (session_id, id);

CREATE INDEX work_by_state ON work_items (environment_id, state, id);

CREATE TABLE idempotency_keys (
    token_id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body BYTEA,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Dashboard sessions (migration 0006): by the SHA-256 of the cookie's id; expired rows pruned.
CREATE TABLE dashboard_sessions (
    id_hash TEXT COLLATE "C" PRIMARY KEY,
    token_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);

-- Every token change notifies every replica on the work feed's channel (see feed.py).
CREATE FUNCTION workyard_token_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'workyard_work:' || TG_TABLE_SCHEMA,
        json_build_object(
            'x', txid_current(),
            't', json_build_array(CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)
        )::text
    );
    RETURN NULL;
END $$;

CREATE TRIGGER tokens_changed AFTER INSERT OR UPDATE OR DELETE ON tokens
FOR EACH ROW EXECUTE FUNCTION workyard_token_changed();

CREATE INDEX work_by_stopped_at ON work_items (environment_id, stopped_at) WHERE stopped_at IS NOT NULL;
CREATE INDEX work_by_acknowledged_at ON work_items (environment_id, acknowledged_at) WHERE acknowledged_at IS NOT NULL;

-- TRUNCATE fires no row trigger: a statement-level one tells every replica that every token may
-- have changed ("*"), so each drops its whole token cache and rechecks its open streams and polls.
CREATE FUNCTION workyard_tokens_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(
        'workyard_work:' || TG_TABLE_SCHEMA,
        json_build_object('x', txid_current(), 't', json_build_array('*'))::text
    );
    RETURN NULL;
END $$;

CREATE TRIGGER tokens_truncated AFTER TRUNCATE ON tokens
FOR EACH STATEMENT EXECUTE FUNCTION workyard_tokens_truncated();
