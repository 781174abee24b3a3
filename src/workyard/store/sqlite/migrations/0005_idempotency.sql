-- Idempotency-Key: a keyed POST's key, per token, inserted in the transaction of its first write;
-- status and body are its response once finished (NULL while in flight). Kept 24 h.
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
