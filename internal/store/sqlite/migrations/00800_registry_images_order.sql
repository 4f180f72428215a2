-- +goose Up

-- ListRegistryImages (GET /image/registries/images): its sort_key
-- latest_scan_time walks this index in either direction (never-scanned
-- rows hold 0), and its image_type is optional, so a list of every type
-- walks the list order without the type column leading.
CREATE INDEX images_scan_order ON images (project_id, image_type, latest_scan_time, id);
CREATE INDEX images_all_types ON images (project_id, latest_update_time DESC, id DESC);

-- +goose Down
DROP INDEX images_all_types;
DROP INDEX images_scan_order;
