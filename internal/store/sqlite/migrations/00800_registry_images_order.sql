-- +goose Up

-- ListRegistryImages (GET /image/registries/images): its sort_key
-- latest_scan_time walks this index in either direction (never-scanned
-- rows hold 0), and its image_type is optional, so a list of every type
-- walks the list order without the type column leading.
-- enterprise_project_id trails, as in every list index (00003): counts and
-- page walks stay index-only.
CREATE INDEX images_scan_order ON images (project_id, image_type, latest_scan_time, id, enterprise_project_id);
CREATE INDEX images_all_types ON images (project_id, latest_update_time DESC, id DESC, enterprise_project_id);

-- The image's severity_level (Security, Low, Medium, High; '' until a scan
-- succeeds): the most urgent repair necessity of its findings, kept on
-- the manifest and copied onto its rows like the counts, so that the
-- filter is an index walk rather than an aggregate over the findings.
ALTER TABLE manifests ADD COLUMN severity_level TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN severity_level TEXT NOT NULL DEFAULT '';
CREATE INDEX images_severity ON images (project_id, image_type, severity_level, latest_update_time DESC, id DESC,
    enterprise_project_id);

-- Results saved before the column existed.
UPDATE manifests SET severity_level = CASE
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = manifests.digest AND f.repair_necessity = 'immediate_repair') THEN 'High'
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = manifests.digest AND f.repair_necessity = 'delay_repair') THEN 'Medium'
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = manifests.digest) THEN 'Low'
    ELSE 'Security' END
WHERE scan_status = 'success';
UPDATE images SET severity_level = CASE
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = images.manifest_digest AND f.repair_necessity = 'immediate_repair') THEN 'High'
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = images.manifest_digest AND f.repair_necessity = 'delay_repair') THEN 'Medium'
    WHEN EXISTS (SELECT 1 FROM scan_findings f WHERE f.digest = images.manifest_digest) THEN 'Low'
    ELSE 'Security' END
WHERE scan_status = 'success';

-- +goose Down
DROP INDEX images_severity;
ALTER TABLE images DROP COLUMN severity_level;
ALTER TABLE manifests DROP COLUMN severity_level;
DROP INDEX images_all_types;
DROP INDEX images_scan_order;
