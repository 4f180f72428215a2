-- +goose Up

-- A job's not-before time (ms; 0: none): a rate-limited scan task spaces
-- its scans by it (docs/api.md, "Tasks"). Claim takes queued jobs in
-- (not_before, id) order and only up to its now, so its index leads with
-- the kind and then not_before: the delayed jobs lie past the range a
-- claim reads, never filtered row by row. jobs_ready (state, kind, id)
-- stays: the purge and the cancel of a task's queued scans search it by
-- state, which this partial index cannot serve on SQLite (its planner does
-- not infer state IN (...) from state = 'queued').
ALTER TABLE jobs ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_claim ON jobs (kind, not_before, id) WHERE state IN ('queued', 'running');

-- The running tasks, by start: the task timeout's sweep reads those begun
-- before its cut-off (docs/api.md, "Tasks"); ended tasks pile up, never
-- looked at.
CREATE INDEX tasks_running ON tasks (begin_time) WHERE state = 'running';

-- +goose Down
DROP INDEX tasks_running;
DROP INDEX jobs_claim;
ALTER TABLE jobs DROP COLUMN not_before;
