-- name: count_tokens
SELECT COUNT(*) FROM tokens;

-- name: token_by_hash
SELECT * FROM tokens WHERE token_hash = :token_hash;

-- name: get_token
SELECT * FROM tokens WHERE id = :id;

-- name: list_tokens
SELECT * FROM tokens ORDER BY id;

-- name: insert_token
INSERT INTO tokens (id, name, kind, token_hash, environment_ids, created_at, expires_at, revoked_at)
VALUES (:id, :name, :kind, :token_hash, :environment_ids, :created_at, :expires_at, :revoked_at);

-- name: replace_token
UPDATE tokens SET name = :name, expires_at = :expires_at, revoked_at = :revoked_at
WHERE id = :id;

-- name: get_environment
SELECT * FROM environments WHERE id = :id;

-- name: insert_environment
INSERT INTO environments (id, name, description, config, metadata, archived_at, created_at, updated_at, version)
VALUES (:id, :name, :description, :config, :metadata, :archived_at, :created_at, :updated_at, :version);

-- name: replace_environment
UPDATE environments
SET name = :name, description = :description, config = :config, metadata = :metadata,
    archived_at = :archived_at, updated_at = :updated_at, version = :version
WHERE id = :id AND version = :expected_version;

-- name: delete_environment
DELETE FROM environments
WHERE id = :id AND NOT EXISTS (SELECT 1 FROM sessions WHERE environment_id = :id);

-- name: environment_referenced
SELECT EXISTS (SELECT 1 FROM sessions WHERE environment_id = :id);

-- name: list_environments_desc
SELECT * FROM environments
WHERE id < :hi::text AND id > :lo::text
  AND (:include_archived::boolean OR archived_at IS NULL)
  AND (:created_gte::bigint IS NULL OR created_at >= :created_gte)
  AND (:created_lte::bigint IS NULL OR created_at <= :created_lte)
ORDER BY id DESC LIMIT :limit;

-- name: list_environments_asc
SELECT * FROM environments
WHERE id < :hi::text AND id > :lo::text
  AND (:include_archived::boolean OR archived_at IS NULL)
  AND (:created_gte::bigint IS NULL OR created_at >= :created_gte)
  AND (:created_lte::bigint IS NULL OR created_at <= :created_lte)
ORDER BY id ASC LIMIT :limit;

-- name: get_session
SELECT s.*, w.state AS work_state
FROM sessions s LEFT JOIN work_items w ON w.id = s.work_id
WHERE s.id = :id AND s.deleted_at IS NULL;

-- name: insert_session
INSERT INTO sessions (id, environment_id, agent, title, metadata, work_id, archived_at, created_at, updated_at, deleted_at, version, last_event_id)
VALUES (:id, :environment_id, :agent, :title, :metadata, :work_id, :archived_at, :created_at, :updated_at, :deleted_at, :version, :last_event_id);

-- name: replace_session
UPDATE sessions
SET title = :title, metadata = :metadata, work_id = :work_id, archived_at = :archived_at,
    updated_at = :updated_at, deleted_at = :deleted_at, version = :version,
    last_event_id = :last_event_id
WHERE id = :id AND version = :expected_version;

-- name: list_sessions_desc
SELECT s.*, w.state AS work_state
FROM sessions s LEFT JOIN work_items w ON w.id = s.work_id
WHERE s.id < :hi::text AND s.id > :lo::text AND s.deleted_at IS NULL
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
  AND (:include_archived::boolean OR s.archived_at IS NULL)
  AND (:states::text[] IS NULL OR w.state = ANY(:states::text[]))
  AND (:created_gt::bigint IS NULL OR s.created_at > :created_gt)
  AND (:created_gte::bigint IS NULL OR s.created_at >= :created_gte)
  AND (:created_lt::bigint IS NULL OR s.created_at < :created_lt)
  AND (:created_lte::bigint IS NULL OR s.created_at <= :created_lte)
ORDER BY s.id DESC LIMIT :limit;

-- name: list_sessions_asc
SELECT s.*, w.state AS work_state
FROM sessions s LEFT JOIN work_items w ON w.id = s.work_id
WHERE s.id < :hi::text AND s.id > :lo::text AND s.deleted_at IS NULL
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
  AND (:include_archived::boolean OR s.archived_at IS NULL)
  AND (:states::text[] IS NULL OR w.state = ANY(:states::text[]))
  AND (:created_gt::bigint IS NULL OR s.created_at > :created_gt)
  AND (:created_gte::bigint IS NULL OR s.created_at >= :created_gte)
  AND (:created_lt::bigint IS NULL OR s.created_at < :created_lt)
  AND (:created_lte::bigint IS NULL OR s.created_at <= :created_lte)
ORDER BY s.id ASC LIMIT :limit;

-- name: get_work
SELECT * FROM work_items WHERE id = :id;

-- name: insert_work
INSERT INTO work_items (id, environment_id, session_id, state, created_at, acknowledged_at, started_at,
    latest_heartbeat_at, stop_requested_at, stopped_at, metadata, delivered_at, delivered_to, holder,
    lease_expires_at, version, secret_hash)
VALUES (:id, :environment_id, :session_id, :state, :created_at, :acknowledged_at, :started_at,
    :latest_heartbeat_at, :stop_requested_at, :stopped_at, :metadata, :delivered_at, :delivered_to,
    :holder, :lease_expires_at, :version, :secret_hash);

-- name: replace_work
UPDATE work_items
SET state = :state, acknowledged_at = :acknowledged_at, started_at = :started_at,
    latest_heartbeat_at = :latest_heartbeat_at, stop_requested_at = :stop_requested_at,
    stopped_at = :stopped_at, metadata = :metadata, delivered_at = :delivered_at,
    delivered_to = :delivered_to, holder = :holder, lease_expires_at = :lease_expires_at,
    version = :version, secret_hash = :secret_hash
WHERE id = :id AND version = :expected_version;

-- name: list_work_asc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
ORDER BY environment_id ASC, id ASC LIMIT :limit;

-- name: list_work_desc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
ORDER BY environment_id DESC, id DESC LIMIT :limit;

-- name: list_work_state_asc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND state = :state
  AND id < :hi::text AND id > :lo::text
ORDER BY id ASC LIMIT :limit;

-- name: list_work_state_desc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND state = :state
  AND id < :hi::text AND id > :lo::text
ORDER BY id DESC LIMIT :limit;

-- name: claim_work
-- One round trip: the claim and its change notification (the same payload as ``notify``).
WITH c AS (
    UPDATE work_items
    SET delivered_at = :now, delivered_to = :worker_id, version = version + 1
    WHERE id = (
        SELECT id FROM work_items
        WHERE environment_id = :environment_id AND state = 'queued'
          AND (delivered_at IS NULL OR delivered_at <= :cutoff)
        ORDER BY environment_id, id LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT c.*, pg_notify(:channel, json_build_object('o', :origin::text, 'x', txid_current(),
    'c', json_build_array(json_build_array(c.id, c.environment_id,
        json_build_array(c.state, NULL, NULL),
        json_build_array(c.state, c.delivered_at, c.lease_expires_at))),
    's', '[]'::json)::text) AS notified
FROM c;

-- name: due_work
SELECT * FROM work_items
WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= :now
ORDER BY lease_expires_at LIMIT :limit;

-- name: oldest_queued_created_at
SELECT created_at FROM work_items
WHERE environment_id = :environment_id AND state = 'queued'
ORDER BY environment_id, id LIMIT 1;

-- name: queue_snapshot
SELECT id, environment_id, state, delivered_at, lease_expires_at FROM work_items
WHERE (state = 'queued' AND delivered_at IS NOT NULL) OR lease_expires_at IS NOT NULL;

-- name: undelivered_counts
SELECT environment_id, COUNT(*) AS n FROM work_items
WHERE state = 'queued' AND delivered_at IS NULL
GROUP BY environment_id;

-- name: record_poller
INSERT INTO worker_polls (environment_id, worker_id, last_poll_at)
VALUES (:environment_id, :worker_id, :last_poll_at)
ON CONFLICT (environment_id, worker_id)
DO UPDATE SET last_poll_at = GREATEST(worker_polls.last_poll_at, EXCLUDED.last_poll_at);

-- name: recent_pollers
SELECT worker_id FROM worker_polls
WHERE environment_id = :environment_id AND last_poll_at > :since;

-- name: forget_pollers
DELETE FROM worker_polls WHERE last_poll_at <= :before;

-- name: notify
SELECT pg_notify(:channel, json_build_object('o', :origin::text, 'x', txid_current(), 'c', :changes::json, 's', :sessions::json)::text);

-- name: replace_work_notify
-- One round trip for the common write: the compare-and-set and its notification (if it applied).
WITH w AS (
    UPDATE work_items
    SET state = :state, acknowledged_at = :acknowledged_at, started_at = :started_at,
        latest_heartbeat_at = :latest_heartbeat_at, stop_requested_at = :stop_requested_at,
        stopped_at = :stopped_at, metadata = :metadata, delivered_at = :delivered_at,
        delivered_to = :delivered_to, holder = :holder, lease_expires_at = :lease_expires_at,
        version = :version, secret_hash = :secret_hash
    WHERE id = :id AND version = :expected_version
    RETURNING 1
)
SELECT pg_notify(:channel, json_build_object('o', :origin::text, 'x', txid_current(), 'c', :changes::json, 's', '[]'::json)::text)
FROM w;

-- name: insert_session_work_notify
-- One round trip for a new session: both rows and the work item's notification.
WITH s AS (
    INSERT INTO sessions (id, environment_id, agent, title, metadata, work_id, archived_at, created_at, updated_at, deleted_at, version, last_event_id)
    VALUES (:s_id, :s_environment_id, :s_agent, :s_title, :s_metadata, :s_work_id, :s_archived_at, :s_created_at, :s_updated_at, :s_deleted_at, :s_version, :s_last_event_id)
), w AS (
    INSERT INTO work_items (id, environment_id, session_id, state, created_at, acknowledged_at, started_at,
        latest_heartbeat_at, stop_requested_at, stopped_at, metadata, delivered_at, delivered_to, holder,
        lease_expires_at, version, secret_hash)
    VALUES (:id, :environment_id, :session_id, :state, :created_at, :acknowledged_at, :started_at,
        :latest_heartbeat_at, :stop_requested_at, :stopped_at, :metadata, :delivered_at, :delivered_to,
        :holder, :lease_expires_at, :version, :secret_hash)
    RETURNING 1
)
SELECT pg_notify(:channel, json_build_object('o', :origin::text, 'x', txid_current(), 'c', :changes::json, 's', '[]'::json)::text)
FROM w;

-- name: current_snapshot
SELECT pg_current_snapshot()::text;

-- name: export_tokens
SELECT * FROM tokens WHERE id > :after::text ORDER BY id LIMIT :limit;

-- name: export_environments
SELECT * FROM environments WHERE id > :after::text ORDER BY id LIMIT :limit;

-- name: export_sessions
SELECT s.*, NULL::text AS work_state FROM sessions s WHERE s.id > :after::text ORDER BY s.id LIMIT :limit;

-- name: export_work
SELECT * FROM work_items WHERE id > :after::text ORDER BY id LIMIT :limit;

-- name: table_counts
SELECT (SELECT COUNT(*) FROM tokens) AS tokens,
       (SELECT COUNT(*) FROM environments) AS environments,
       (SELECT COUNT(*) FROM sessions) AS sessions,
       (SELECT COUNT(*) FROM work_items) AS work_items,
       (SELECT COUNT(*) FROM events) AS events,
       (SELECT COUNT(*) FROM idempotency_keys) AS idempotency_keys;

-- name: clear_all
TRUNCATE events, work_items, sessions, environments, tokens, worker_polls, idempotency_keys;

-- name: list_events_asc
SELECT * FROM events
WHERE session_id = :session_id AND id < :hi::text AND id > :lo::text
  AND (:types::text[] IS NULL OR type = ANY(:types::text[]))
  AND (:created_gt::bigint IS NULL OR processed_at > :created_gt)
  AND (:created_gte::bigint IS NULL OR processed_at >= :created_gte)
  AND (:created_lt::bigint IS NULL OR processed_at < :created_lt)
  AND (:created_lte::bigint IS NULL OR processed_at <= :created_lte)
ORDER BY session_id ASC, id ASC LIMIT :limit;

-- name: list_events_desc
SELECT * FROM events
WHERE session_id = :session_id AND id < :hi::text AND id > :lo::text
  AND (:types::text[] IS NULL OR type = ANY(:types::text[]))
  AND (:created_gt::bigint IS NULL OR processed_at > :created_gt)
  AND (:created_gte::bigint IS NULL OR processed_at >= :created_gte)
  AND (:created_lt::bigint IS NULL OR processed_at < :created_lt)
  AND (:created_lte::bigint IS NULL OR processed_at <= :created_lte)
ORDER BY session_id DESC, id DESC LIMIT :limit;

-- name: list_events_page_asc
-- A page of events whose bodies total at most :max_bytes (the first row always): rows past the
-- budget come back with a NULL body, so the page knows it was cut short (docs/api.md).
SELECT e.id, e.session_id, e.type, e.processed_at, CASE WHEN s.keep THEN e.body END AS body
FROM (
  SELECT id, (ROW_NUMBER() OVER w = 1 OR SUM(size) OVER w <= :max_bytes::bigint) AS keep
  FROM (
    SELECT id, octet_length(body) AS size FROM events
    WHERE session_id = :session_id AND id < :hi::text AND id > :lo::text
      AND (:types::text[] IS NULL OR type = ANY(:types::text[]))
      AND (:created_gt::bigint IS NULL OR processed_at > :created_gt)
      AND (:created_gte::bigint IS NULL OR processed_at >= :created_gte)
      AND (:created_lt::bigint IS NULL OR processed_at < :created_lt)
      AND (:created_lte::bigint IS NULL OR processed_at <= :created_lte)
    ORDER BY session_id ASC, id ASC
    LIMIT :limit
  ) AS scan
  WINDOW w AS (ORDER BY id ASC ROWS UNBOUNDED PRECEDING)
) AS s
JOIN events e ON e.id = s.id
ORDER BY e.id ASC;

-- name: list_events_page_desc
-- A page of events whose bodies total at most :max_bytes (the first row always): rows past the
-- budget come back with a NULL body, so the page knows it was cut short (docs/api.md).
SELECT e.id, e.session_id, e.type, e.processed_at, CASE WHEN s.keep THEN e.body END AS body
FROM (
  SELECT id, (ROW_NUMBER() OVER w = 1 OR SUM(size) OVER w <= :max_bytes::bigint) AS keep
  FROM (
    SELECT id, octet_length(body) AS size FROM events
    WHERE session_id = :session_id AND id < :hi::text AND id > :lo::text
      AND (:types::text[] IS NULL OR type = ANY(:types::text[]))
      AND (:created_gt::bigint IS NULL OR processed_at > :created_gt)
      AND (:created_gte::bigint IS NULL OR processed_at >= :created_gte)
      AND (:created_lt::bigint IS NULL OR processed_at < :created_lt)
      AND (:created_lte::bigint IS NULL OR processed_at <= :created_lte)
    ORDER BY session_id DESC, id DESC
    LIMIT :limit
  ) AS scan
  WINDOW w AS (ORDER BY id DESC ROWS UNBOUNDED PRECEDING)
) AS s
JOIN events e ON e.id = s.id
ORDER BY e.id DESC;

-- name: insert_event
INSERT INTO events (id, session_id, type, processed_at, body)
VALUES (:id, :session_id, :type, :processed_at, :body);

-- name: purge_session_events
DELETE FROM events WHERE session_id = :session_id;

-- name: export_events
SELECT * FROM events WHERE id > :after::text ORDER BY id LIMIT :limit;

-- idempotency keys (migration 0005) -----------------------------------------------------------

-- name: claim_idempotency_key
INSERT INTO idempotency_keys (token_id, key, request_hash, status, body, created_at)
VALUES (:token_id, :key, :request_hash, NULL, NULL, :created_at)
ON CONFLICT (token_id, key) DO UPDATE SET
    request_hash = excluded.request_hash, status = NULL, body = NULL,
    created_at = excluded.created_at
WHERE idempotency_keys.created_at <= :expired_before;

-- name: get_idempotency_key
SELECT request_hash, status, body, created_at FROM idempotency_keys
WHERE token_id = :token_id AND key = :key AND created_at > :expired_before;

-- name: finish_idempotency_key
UPDATE idempotency_keys SET status = :status, body = :body
WHERE token_id = :token_id AND key = :key AND request_hash = :request_hash AND status IS NULL;

-- name: prune_idempotency_keys
DELETE FROM idempotency_keys WHERE (token_id, key) IN (
    SELECT token_id, key FROM idempotency_keys WHERE created_at <= :expired_before
    ORDER BY created_at LIMIT :limit
);

-- name: export_idempotency_keys
SELECT * FROM idempotency_keys WHERE (token_id, key) > (:token_id::text, :key::text)
ORDER BY token_id, key LIMIT :limit;

-- name: insert_idempotency_key
INSERT INTO idempotency_keys (token_id, key, request_hash, status, body, created_at)
VALUES (:token_id, :key, :request_hash, :status, :body, :created_at);

-- name: prune_scan_work
SELECT id FROM work_items WHERE id > :after ORDER BY id LIMIT 1 OFFSET :offset;

-- name: prune_scan_sessions
SELECT id FROM sessions WHERE id > :after ORDER BY id LIMIT 1 OFFSET :offset;

-- name: prune_work
DELETE FROM work_items
WHERE id > :after AND id <= :upto AND state = 'stopped' AND stopped_at < :before
  AND NOT EXISTS (
    SELECT 1 FROM sessions s WHERE s.id = work_items.session_id AND s.work_id = work_items.id
  );

-- name: prunable_sessions
SELECT s.id FROM sessions s
WHERE s.id > :after AND s.id <= :upto
  AND (s.archived_at < :before OR s.deleted_at < :before)
  AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.session_id = s.id AND w.state <> 'stopped')
ORDER BY s.id;

-- name: prune_session_events
DELETE FROM events WHERE id IN (
    SELECT id FROM events WHERE session_id = ANY(:ids::text[]) LIMIT :limit
);

-- name: prune_session_work
DELETE FROM work_items
WHERE session_id = ANY(:ids::text[]) AND state = 'stopped';

-- name: prune_session_rows
DELETE FROM sessions WHERE id = ANY(:ids::text[]);

-- name: count_prunable
WITH prunable AS (
    SELECT s.id FROM sessions s
    WHERE (s.archived_at < :before OR s.deleted_at < :before)
      AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.session_id = s.id AND w.state <> 'stopped')
)
SELECT
  (SELECT COUNT(*) FROM work_items w
   WHERE w.state = 'stopped' AND (
     (w.stopped_at < :before AND NOT EXISTS (
        SELECT 1 FROM sessions s WHERE s.id = w.session_id AND s.work_id = w.id))
     OR w.session_id IN (SELECT id FROM prunable))) AS work_items,
  (SELECT COUNT(*) FROM prunable) AS sessions,
  (SELECT COUNT(*) FROM events e WHERE e.session_id IN (SELECT id FROM prunable)) AS events;

-- dashboard sessions (migration 0006) ---------------------------------------------------------

-- name: insert_dashboard_session
INSERT INTO dashboard_sessions (id_hash, token_id, created_at, expires_at)
VALUES (:id_hash, :token_id, :created_at, :expires_at);

-- name: get_dashboard_session
SELECT id_hash, token_id, created_at, expires_at FROM dashboard_sessions
WHERE id_hash = :id_hash AND expires_at > :now;

-- name: delete_dashboard_session
DELETE FROM dashboard_sessions WHERE id_hash = :id_hash;

-- name: prune_dashboard_sessions
DELETE FROM dashboard_sessions WHERE id_hash IN (
    SELECT id_hash FROM dashboard_sessions WHERE expires_at <= :expired_before
    ORDER BY expires_at LIMIT :limit
);
-- dashboard reads (migration 0007) --------------------------------------------------------------

-- name: search_sessions_desc
SELECT s.*, w.state AS work_state
FROM sessions s LEFT JOIN work_items w ON w.id = s.work_id
WHERE s.id < :hi::text AND s.id > :lo::text AND s.deleted_at IS NULL
  AND s.id >= :scan_lo::text AND s.id <= :scan_hi::text
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
  AND (:include_archived::boolean OR s.archived_at IS NULL)
  AND (:states::text[] IS NULL OR w.state = ANY(:states::text[]))
  AND (:title_like::text IS NULL OR s.title ILIKE :title_like ESCAPE '\')
  AND (:metadata::jsonb IS NULL OR s.metadata::jsonb @> :metadata::jsonb)
ORDER BY s.id DESC LIMIT :limit;

-- name: search_sessions_asc
SELECT s.*, w.state AS work_state
FROM sessions s LEFT JOIN work_items w ON w.id = s.work_id
WHERE s.id < :hi::text AND s.id > :lo::text AND s.deleted_at IS NULL
  AND s.id >= :scan_lo::text AND s.id <= :scan_hi::text
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
  AND (:include_archived::boolean OR s.archived_at IS NULL)
  AND (:states::text[] IS NULL OR w.state = ANY(:states::text[]))
  AND (:title_like::text IS NULL OR s.title ILIKE :title_like ESCAPE '\')
  AND (:metadata::jsonb IS NULL OR s.metadata::jsonb @> :metadata::jsonb)
ORDER BY s.id ASC LIMIT :limit;

-- name: list_work_held_asc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
  AND id >= :scan_lo::text AND id <= :scan_hi::text
  AND (holder = :worker_id::text OR delivered_to = :worker_id::text)
  AND (:states::text[] IS NULL OR state = ANY(:states::text[]))
ORDER BY environment_id ASC, id ASC LIMIT :limit;

-- name: list_work_held_desc
SELECT * FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
  AND id >= :scan_lo::text AND id <= :scan_hi::text
  AND (holder = :worker_id::text OR delivered_to = :worker_id::text)
  AND (:states::text[] IS NULL OR state = ANY(:states::text[]))
ORDER BY environment_id DESC, id DESC LIMIT :limit;

-- name: session_titles
SELECT id, title FROM sessions WHERE id = ANY(:ids::text[]) AND deleted_at IS NULL;

-- name: get_event
SELECT * FROM events WHERE session_id = :session_id AND id = :id;

-- name: finished_work
SELECT * FROM work_items
WHERE environment_id = :environment_id AND stopped_at IS NOT NULL
  AND stopped_at >= :since::bigint
ORDER BY environment_id DESC, stopped_at DESC LIMIT :limit;

-- name: acknowledged_work
SELECT * FROM work_items
WHERE environment_id = :environment_id AND acknowledged_at IS NOT NULL
  AND acknowledged_at >= :since::bigint
ORDER BY environment_id DESC, acknowledged_at DESC LIMIT :limit;

-- name: poller_times
SELECT worker_id, last_poll_at FROM worker_polls
WHERE environment_id = :environment_id AND last_poll_at > :since::bigint;

-- The row ``offset`` rows into a search's window, where a bounded search stops scanning.

-- name: session_scan_end_desc
SELECT s.id FROM sessions s
WHERE s.id < :hi::text AND s.id > :lo::text
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
ORDER BY s.id DESC LIMIT 1 OFFSET :offset;

-- name: session_scan_end_asc
SELECT s.id FROM sessions s
WHERE s.id < :hi::text AND s.id > :lo::text
  AND (:environment_id::text IS NULL OR s.environment_id = :environment_id)
  AND (:environment_ids::text[] IS NULL OR s.environment_id = ANY(:environment_ids::text[]))
ORDER BY s.id ASC LIMIT 1 OFFSET :offset;

-- name: work_scan_end_asc
SELECT id FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
ORDER BY environment_id ASC, id ASC LIMIT 1 OFFSET :offset;

-- name: work_scan_end_desc
SELECT id FROM work_items
WHERE environment_id = :environment_id AND id < :hi::text AND id > :lo::text
ORDER BY environment_id DESC, id DESC LIMIT 1 OFFSET :offset;
