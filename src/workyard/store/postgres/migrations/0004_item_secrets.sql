-- A work item's credential (minted by each ack), stored only as its SHA-256 hash.
ALTER TABLE work_items ADD COLUMN secret_hash TEXT;

-- Every token change (create, revoke, delete) tells every replica at once, on the work feed's
-- channel, whoever made it (a server, the CLI, plain SQL): replicas drop cached lookups and end
-- the streams of dead tokens.
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
