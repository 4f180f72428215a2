-- +goose Up

-- A project's scan policy (ListImageScanPolicy / ModifyImageScanPolicy,
-- docs/api.md "Scan policies") and when its next scheduled scan is due.
-- The scheduler claims a due run by moving next_run_at forward with a
-- conditional UPDATE in the transaction that queues the run's job, so a
-- run is started once however many servers share the database.
CREATE TABLE scan_policies (
    project_id  TEXT COLLATE "C" PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    scan_cycle  INTEGER NOT NULL,
    scan_scope  INTEGER NOT NULL,
    rate_limit  INTEGER NOT NULL,
    time_scope  INTEGER NOT NULL,
    next_run_at BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX scan_policies_due ON scan_policies (next_run_at) WHERE enabled;

-- The connections a policy selects. A deleted connection's id may stay:
-- it selects no rows, and the GET lists only existing connections.
CREATE TABLE scan_policy_registries (
    project_id  TEXT COLLATE "C" NOT NULL,
    registry_id BIGINT NOT NULL,
    PRIMARY KEY (project_id, registry_id)
);

-- When each project's connections are next synced by serve --sync-interval,
-- claimed the same way as scheduled scans.
CREATE TABLE sync_schedule (
    project_id   TEXT COLLATE "C" PRIMARY KEY,
    next_sync_at BIGINT NOT NULL
);
CREATE INDEX sync_schedule_due ON sync_schedule (next_sync_at);

-- +goose Down
DROP TABLE sync_schedule;
DROP TABLE scan_policy_registries;
DROP TABLE scan_policies;
