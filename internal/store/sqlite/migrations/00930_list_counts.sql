-- +goose Up

-- image_counts counts the rows of images per project, type, enterprise
-- project, connection and the values the list's flag filters test
-- (docs/benchmarks.md, Uncached list): scan status, whether each finding
-- count is above 0, latest_version, is_index and severity_level. A list
-- whose conditions are all on these columns answers its exact total_num
-- by summing a few hundred rows instead of counting up to 10^6 index
-- entries, also right after a write to images, when nothing is cached.
-- Kept by triggers in the writing transaction, like image_repos; rows at
-- 0 stay (there are at most a few hundred key combinations per
-- connection).
CREATE TABLE image_counts (
    project_id            TEXT NOT NULL,
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
    PRIMARY KEY (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
        latest_version, is_index, severity_level)
) WITHOUT ROWID;

INSERT INTO image_counts (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
    malicious, latest_version, is_index, severity_level, rows)
SELECT project_id, image_type, enterprise_project_id, registry_id, scan_status, vul_num > 0, unsafe_setting_num > 0,
    malicious_file_num > 0, latest_version <> 0, is_index <> 0, severity_level, count(*)
FROM images GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;

-- +goose StatementBegin
CREATE TRIGGER images_counts_ai AFTER INSERT ON images BEGIN
    INSERT INTO image_counts (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.enterprise_project_id, NEW.registry_id, NEW.scan_status,
        NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0, NEW.latest_version <> 0,
        NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
        latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_counts_ad AFTER DELETE ON images BEGIN
    UPDATE image_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type
      AND enterprise_project_id = OLD.enterprise_project_id AND registry_id = OLD.registry_id
      AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0) AND unsafe = (OLD.unsafe_setting_num > 0)
      AND malicious = (OLD.malicious_file_num > 0) AND latest_version = (OLD.latest_version <> 0)
      AND is_index = (OLD.is_index <> 0) AND severity_level = OLD.severity_level;
END;
-- +goose StatementEnd

-- Only an update that moves a row to another key (a scan result, a new
-- latest tag, a registry moved to another enterprise project) touches the
-- counts.
-- +goose StatementBegin
CREATE TRIGGER images_counts_au AFTER UPDATE OF enterprise_project_id, registry_id, scan_status, vul_num,
    unsafe_setting_num, malicious_file_num, latest_version, is_index, severity_level ON images
WHEN NEW.enterprise_project_id IS NOT OLD.enterprise_project_id OR NEW.registry_id IS NOT OLD.registry_id
  OR NEW.scan_status IS NOT OLD.scan_status OR (NEW.vul_num > 0) IS NOT (OLD.vul_num > 0)
  OR (NEW.unsafe_setting_num > 0) IS NOT (OLD.unsafe_setting_num > 0)
  OR (NEW.malicious_file_num > 0) IS NOT (OLD.malicious_file_num > 0)
  OR (NEW.latest_version <> 0) IS NOT (OLD.latest_version <> 0) OR (NEW.is_index <> 0) IS NOT (OLD.is_index <> 0)
  OR NEW.severity_level IS NOT OLD.severity_level
BEGIN
    UPDATE image_counts SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type
      AND enterprise_project_id = OLD.enterprise_project_id AND registry_id = OLD.registry_id
      AND scan_status = OLD.scan_status AND vul = (OLD.vul_num > 0) AND unsafe = (OLD.unsafe_setting_num > 0)
      AND malicious = (OLD.malicious_file_num > 0) AND latest_version = (OLD.latest_version <> 0)
      AND is_index = (OLD.is_index <> 0) AND severity_level = OLD.severity_level;
    INSERT INTO image_counts (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
        malicious, latest_version, is_index, severity_level, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.enterprise_project_id, NEW.registry_id, NEW.scan_status,
        NEW.vul_num > 0, NEW.unsafe_setting_num > 0, NEW.malicious_file_num > 0, NEW.latest_version <> 0,
        NEW.is_index <> 0, NEW.severity_level, 1)
    ON CONFLICT (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
        latest_version, is_index, severity_level) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- The pages of risky=true walk this index in list order (about a third of
-- the rows match: without it a deep page reads a table row per entry it
-- steps over); the condition is the list's, word for word, so the planner
-- sees it implied. The count columns trail, as in images_vul: the planner
-- re-checks the condition, and the walk must not read table rows for it.
CREATE INDEX images_risky ON images (project_id, image_type, latest_update_time DESC, id DESC, enterprise_project_id,
    vul_num, unsafe_setting_num, malicious_file_num)
WHERE (vul_num > 0 OR unsafe_setting_num > 0 OR malicious_file_num > 0);

-- registry_name (and the other conditions on the owning connection)
-- resolve to connection ids first; one id walks this index in list order,
-- with image_type (optional in ListRegistryImages) tested on the entry.
CREATE INDEX images_registry ON images (project_id, registry_id, latest_update_time DESC, id DESC,
    enterprise_project_id, image_type);

-- +goose Down
DROP INDEX images_registry;
DROP INDEX images_risky;
DROP TRIGGER images_counts_au;
DROP TRIGGER images_counts_ad;
DROP TRIGGER images_counts_ai;
DROP TABLE image_counts;
