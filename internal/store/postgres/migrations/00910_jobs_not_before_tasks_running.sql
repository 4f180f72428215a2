-- +goose Up

-- A job's not-before time (ms; 0: none): a rate-limited scan task spaces
-- its scans by it (docs/api.md, "Tasks"). Claim takes queued jobs in
-- (not_before, id) order and only up to its now, so the index leads with
-- the kind and then not_before: the delayed jobs lie past the range a
-- claim reads, never filtered row by row.
ALTER TABLE jobs ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (kind, not_before, id) WHERE state IN ('queued', 'running');

-- The running tasks, by start: the task timeout's sweep reads those begun
-- before its cut-off (docs/api.md, "Tasks"); ended tasks pile up, never
-- looked at.
CREATE INDEX tasks_running ON tasks (begin_time) WHERE state = 'running';

-- +goose Down
DROP INDEX tasks_running;
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (kind, id) WHERE state IN ('queued', 'running');
ALTER TABLE jobs DROP COLUMN not_before;
