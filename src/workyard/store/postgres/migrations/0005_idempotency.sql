-- Idempotency-Key: a keyed POST's key, per token, inserted in the transaction of its first write;
-- status and body are its response once finished (NULL while in flight). Kept 24 h.
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
