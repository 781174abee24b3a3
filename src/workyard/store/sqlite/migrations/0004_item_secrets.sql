-- A work item's credential (minted by each ack), stored only as its SHA-256 hash.
ALTER TABLE work_items ADD COLUMN secret_hash TEXT;
