-- +goose Up

-- image_scan_counts is image_time_counts (00970) bucketed by the UTC day
-- of latest_scan_time instead (latest_scan_time / 86400000), and rows
-- never scanned (latest_scan_time 0, or any time not after it) in bucket
-- -1 of their own, so that bucket order is latest_scan_time order: a deep
-- page of ListRegistryImages' sort_key=latest_scan_time orders, in either
-- direction, starts from the day holding its first row as the default
-- order's does from image_time_counts (docs/architecture.md, Caches).
-- Same key, triggers and upkeep as image_time_counts; only the day differs.
CREATE TABLE image_scan_counts (
    project_id            TEXT NOT NULL,
    bucket                INTEGER NOT NULL,
    image_type            TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    registry_id           INTEGER NOT NULL,
    scan_status           TEXT NOT NULL,
    vul                   INTEGER NOT NULL,
    unsafe                INTEGER NOT NULL,
    malicious             INTEGER NOT NULL,
    latest_version        INTEGER NOT NULL,
    is_index              INTEGER NOT NULL,
    severity_level        TEXT NOT NULL,
    rows                  INTEGER NOT NULL,
    PRIMARY KEY (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level)
) WITHOUT ROWID;

INSERT INTO image_scan_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul,
    unsafe, malicious, latest_version, is_index, severity_level, rows)
SELECT project_id, CASE WHEN latest_scan_time > 0 THEN latest_scan_time / 86400000 ELSE -1 END, image_type, enterprise_project_id, registry_id, scan_status,
    vul_num > 0, unsafe_setting_num > 0, malicious_file_num > 0, latest_version <> 0, is_index <> 0, severity_level,
    count(*)
FROM images GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

-- +goose StatementBegin
CREATE TRIGGER images_scan_counts_ai AFTER INSERT ON images BEGIN
    INSERT INTO image_scan_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status,
        vul, unsafe, malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, CASE WHEN NEW.latest_scan_time > 0 THEN NEW.latest_scan_time / 86400000 ELSE -1 END, NEW.image_type, NEW.enterprise_project_id,
        NEW.registry_id, NEW.scan_status, NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0,
        NEW.latest_version <> 0, NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_scan_counts_ad AFTER DELETE ON images BEGIN
    UPDATE image_scan_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND bucket = CASE WHEN OLD.latest_scan_time > 0 THEN OLD.latest_scan_time / 86400000 ELSE -1 END
      AND image_type = OLD.image_type AND enterprise_project_id = OLD.enterprise_project_id
      AND registry_id = OLD.registry_id AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0)
      AND unsafe = (OLD.unsafe_setting_num > 0) AND malicious = (OLD.malicious_file_num > 0)
      AND latest_version = (OLD.latest_version <> 0) AND is_index = (OLD.is_index <> 0)
      AND severity_level = OLD.severity_level;
END;
-- +goose StatementEnd

-- Only an update that moves a row to another key (image_counts' keys, or
-- another day of scan: a scan result stored) touches the counts.
-- +goose StatementBegin
CREATE TRIGGER images_scan_counts_au AFTER UPDATE OF latest_scan_time, enterprise_project_id, registry_id,
    scan_status, vul_num, unsafe_setting_num, malicious_file_num, latest_version, is_index, severity_level ON images
WHEN CASE WHEN NEW.latest_scan_time > 0 THEN NEW.latest_scan_time / 86400000 ELSE -1 END IS NOT CASE WHEN OLD.latest_scan_time > 0 THEN OLD.latest_scan_time / 86400000 ELSE -1 END
  OR NEW.enterprise_project_id IS NOT OLD.enterprise_project_id OR NEW.registry_id IS NOT OLD.registry_id
  OR NEW.scan_status IS NOT OLD.scan_status OR (NEW.vul_num > 0) IS NOT (OLD.vul_num > 0)
  OR (NEW.unsafe_setting_num > 0) IS NOT (OLD.unsafe_setting_num > 0)
  OR (NEW.malicious_file_num > 0) IS NOT (OLD.malicious_file_num > 0)
  OR (NEW.latest_version <> 0) IS NOT (OLD.latest_version <> 0) OR (NEW.is_index <> 0) IS NOT (OLD.is_index <> 0)
  OR NEW.severity_level IS NOT OLD.severity_level
BEGIN
    UPDATE image_scan_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND bucket = CASE WHEN OLD.latest_scan_time > 0 THEN OLD.latest_scan_time / 86400000 ELSE -1 END
      AND image_type = OLD.image_type AND enterprise_project_id = OLD.enterprise_project_id
      AND registry_id = OLD.registry_id AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0)
      AND unsafe = (OLD.unsafe_setting_num > 0) AND malicious = (OLD.malicious_file_num > 0)
      AND latest_version = (OLD.latest_version <> 0) AND is_index = (OLD.is_index <> 0)
      AND severity_level = OLD.severity_level;
    INSERT INTO image_scan_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status,
        vul, unsafe, malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, CASE WHEN NEW.latest_scan_time > 0 THEN NEW.latest_scan_time / 86400000 ELSE -1 END, NEW.image_type, NEW.enterprise_project_id,
        NEW.registry_id, NEW.scan_status, NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0,
        NEW.latest_version <> 0, NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER images_scan_counts_au;
DROP TRIGGER images_scan_counts_ad;
DROP TRIGGER images_scan_counts_ai;
DROP TABLE image_scan_counts;
