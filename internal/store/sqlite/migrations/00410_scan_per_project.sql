-- +goose Up

-- A scan's waiting, running and failed states belong to the requesting
-- project's rows; the manifest row keeps only a shared success. The
-- sweep of scans whose job is gone reads the rows still pending, through
-- this small index.
CREATE INDEX images_scan_pending ON images (project_id, manifest_digest)
    WHERE scan_status IN ('waiting_for_scan', 'scanning');

-- Manifest rows written before: any state but a success was one project's
-- and must not be copied onto rows other projects sync later.
UPDATE manifests SET scan_status = 'unscan', scan_failed_desc = '', latest_scan_time = 0, vul_num = 0,
    unsafe_setting_num = 0, malicious_file_num = 0
    WHERE scan_status <> 'success' AND scan_status <> 'unscan';

-- +goose Down
DROP INDEX images_scan_pending;
