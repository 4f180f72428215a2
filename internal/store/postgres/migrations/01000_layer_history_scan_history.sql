-- +goose Up

-- The image detail's Layers tab (docs/console.md): per layer of an SBOM,
-- its compressed size and the config history step that made it, as a JSON
-- array parallel to layers ([{"size":…,"created_by":…}]). '' means not
-- recorded: the inventory was stored before this column, so the page asks
-- for a rescan rather than guess.
ALTER TABLE sboms ADD COLUMN layer_history TEXT NOT NULL DEFAULT '';

-- The image detail's Scan history tab: each finished scan a project ran of
-- a manifest (success or failure), its counts as stored. The store keeps
-- the newest 50 per project and manifest (scanresult.ScanHistoryLimit),
-- pruning older ones on insert; id orders them.
CREATE TABLE scan_history (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id         TEXT NOT NULL,
    digest             TEXT COLLATE "C" NOT NULL,
    scan_time          BIGINT NOT NULL,
    scan_status        TEXT NOT NULL,
    failed_desc        TEXT NOT NULL DEFAULT '',
    vul_num            INTEGER NOT NULL DEFAULT 0,
    unsafe_setting_num INTEGER NOT NULL DEFAULT 0,
    malicious_file_num INTEGER NOT NULL DEFAULT 0,
    severity_level     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scan_history_by_manifest ON scan_history (project_id, digest, id);

-- +goose Down
DROP TABLE scan_history;
ALTER TABLE sboms DROP COLUMN layer_history;
