-- +goose Up

-- image_time_counts is image_counts (00930) split by bucket, the UTC day
-- of latest_update_time (latest_update_time / 86400000): the rows of
-- images per project, day and image_counts' key. A deep page of a filter
-- image_counts answers sums the days from the newest until the one holding
-- its first row, then walks the list's index from the end of that day
-- stepping over only the rows inside it (docs/benchmarks.md, Uncached
-- list; docs/architecture.md), instead of every row before the offset,
-- also right after a write, when no bookmark is cached. The bucket leads
-- the key after the project so that the sum reads the newest days first
-- and stops. Rows at 0 stay, like image_counts'.
CREATE TABLE image_time_counts (
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

INSERT INTO image_time_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul,
    unsafe, malicious, latest_version, is_index, severity_level, rows)
SELECT project_id, latest_update_time / 86400000, image_type, enterprise_project_id, registry_id, scan_status,
    vul_num > 0, unsafe_setting_num > 0, malicious_file_num > 0, latest_version <> 0, is_index <> 0, severity_level,
    count(*)
FROM images GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

-- +goose StatementBegin
CREATE TRIGGER images_time_counts_ai AFTER INSERT ON images BEGIN
    INSERT INTO image_time_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status,
        vul, unsafe, malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, NEW.latest_update_time / 86400000, NEW.image_type, NEW.enterprise_project_id,
        NEW.registry_id, NEW.scan_status, NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0,
        NEW.latest_version <> 0, NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_time_counts_ad AFTER DELETE ON images BEGIN
    UPDATE image_time_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND bucket = OLD.latest_update_time / 86400000
      AND image_type = OLD.image_type AND enterprise_project_id = OLD.enterprise_project_id
      AND registry_id = OLD.registry_id AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0)
      AND unsafe = (OLD.unsafe_setting_num > 0) AND malicious = (OLD.malicious_file_num > 0)
      AND latest_version = (OLD.latest_version <> 0) AND is_index = (OLD.is_index <> 0)
      AND severity_level = OLD.severity_level;
END;
-- +goose StatementEnd

-- Only an update that moves a row to another key (image_counts' keys, or
-- another day: a tag pushed again) touches the counts.
-- +goose StatementBegin
CREATE TRIGGER images_time_counts_au AFTER UPDATE OF latest_update_time, enterprise_project_id, registry_id,
    scan_status, vul_num, unsafe_setting_num, malicious_file_num, latest_version, is_index, severity_level ON images
WHEN NEW.latest_update_time / 86400000 IS NOT OLD.latest_update_time / 86400000
  OR NEW.enterprise_project_id IS NOT OLD.enterprise_project_id OR NEW.registry_id IS NOT OLD.registry_id
  OR NEW.scan_status IS NOT OLD.scan_status OR (NEW.vul_num > 0) IS NOT (OLD.vul_num > 0)
  OR (NEW.unsafe_setting_num > 0) IS NOT (OLD.unsafe_setting_num > 0)
  OR (NEW.malicious_file_num > 0) IS NOT (OLD.malicious_file_num > 0)
  OR (NEW.latest_version <> 0) IS NOT (OLD.latest_version <> 0) OR (NEW.is_index <> 0) IS NOT (OLD.is_index <> 0)
  OR NEW.severity_level IS NOT OLD.severity_level
BEGIN
    UPDATE image_time_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND bucket = OLD.latest_update_time / 86400000
      AND image_type = OLD.image_type AND enterprise_project_id = OLD.enterprise_project_id
      AND registry_id = OLD.registry_id AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0)
      AND unsafe = (OLD.unsafe_setting_num > 0) AND malicious = (OLD.malicious_file_num > 0)
      AND latest_version = (OLD.latest_version <> 0) AND is_index = (OLD.is_index <> 0)
      AND severity_level = OLD.severity_level;
    INSERT INTO image_time_counts (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status,
        vul, unsafe, malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, NEW.latest_update_time / 86400000, NEW.image_type, NEW.enterprise_project_id,
        NEW.registry_id, NEW.scan_status, NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0,
        NEW.latest_version <> 0, NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER images_time_counts_au;
DROP TRIGGER images_time_counts_ad;
DROP TRIGGER images_time_counts_ai;
DROP TABLE image_time_counts;
