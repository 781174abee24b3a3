-- Work lists filtered by state (GET …/work?state=…) read only the matching rows, in id order.
CREATE INDEX work_by_state ON work_items (environment_id, state, id);
