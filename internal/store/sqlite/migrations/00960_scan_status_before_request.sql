-- +goose Up

-- The status a row had before a scan was asked for, kept while the scan is
-- queued or running: a scan cancelled with its task (StopImageScanTask)
-- puts the row back as it was (docs/api.md, Tasks), not to unscan.
ALTER TABLE images ADD COLUMN prev_scan_status TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN prev_scan_failed_desc TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE images DROP COLUMN prev_scan_failed_desc;
ALTER TABLE images DROP COLUMN prev_scan_status;
