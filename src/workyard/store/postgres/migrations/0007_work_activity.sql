-- The dashboard's charts read the last hour's finished and acknowledged items of one environment.
CREATE INDEX work_by_stopped_at ON work_items (environment_id, stopped_at) WHERE stopped_at IS NOT NULL;
CREATE INDEX work_by_acknowledged_at ON work_items (environment_id, acknowledged_at) WHERE acknowledged_at IS NOT NULL;
