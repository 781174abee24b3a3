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
