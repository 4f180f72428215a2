-- +goose Up

-- The list always filters on enterprise_project_id (the API passes the
-- default enterprise project "0" when a request names none), and no list
-- index of 00001 carried it: every index entry a count or a deep page
-- stepped over also read its table row just to test it. Each list index now
-- carries it after (latest_update_time, id), as an included column: the
-- walk in list order stays usable whatever the enterprise project filter
-- (one value, an IN list, or none for a caller granted all), and counts and
-- page walks stay index-only. (As a leading column it would serve only the
-- single-value filter in order; an IN list would have to sort every match.)
--
-- Same names as the indexes they replace, so plans and docs keep naming
-- them; rebuilding them on a large existing database takes a while, once.

DROP INDEX images_list;
CREATE INDEX images_list ON images (project_id, image_type, latest_update_time DESC, id DESC,
    enterprise_project_id, namespace, name);

DROP INDEX images_ns;
CREATE INDEX images_ns ON images (project_id, image_type, namespace, latest_update_time DESC, id DESC,
    enterprise_project_id, name);

DROP INDEX images_repo;
CREATE INDEX images_repo ON images (project_id, image_type, namespace, name, latest_update_time DESC, id DESC,
    enterprise_project_id);

-- Trailing count columns make it covering for has_*=false (success and 0).
DROP INDEX images_status;
CREATE INDEX images_status ON images (project_id, image_type, scan_status, latest_update_time DESC, id DESC,
    enterprise_project_id, vul_num, unsafe_setting_num, malicious_file_num);

-- The partial indexes keep their condition's column: the planner re-checks
-- the condition, and counting 10^4..10^5 entries must not read the table.
DROP INDEX images_latest;
CREATE INDEX images_latest ON images (project_id, image_type, latest_update_time DESC, id DESC,
    enterprise_project_id, latest_version) WHERE latest_version = 1;

DROP INDEX images_vul;
CREATE INDEX images_vul ON images (project_id, image_type, latest_update_time DESC, id DESC,
    enterprise_project_id, vul_num) WHERE vul_num > 0;

-- +goose Down
DROP INDEX images_vul;
CREATE INDEX images_vul ON images (project_id, image_type, latest_update_time DESC, id DESC, vul_num) WHERE vul_num > 0;
DROP INDEX images_latest;
CREATE INDEX images_latest ON images (project_id, image_type, latest_update_time DESC, id DESC, latest_version) WHERE latest_version = 1;
DROP INDEX images_status;
CREATE INDEX images_status ON images (project_id, image_type, scan_status, latest_update_time DESC, id DESC,
    vul_num, unsafe_setting_num, malicious_file_num);
DROP INDEX images_repo;
CREATE INDEX images_repo ON images (project_id, image_type, namespace, name, latest_update_time DESC, id DESC);
DROP INDEX images_ns;
CREATE INDEX images_ns ON images (project_id, image_type, namespace, latest_update_time DESC, id DESC, name);
DROP INDEX images_list;
CREATE INDEX images_list ON images (project_id, image_type, latest_update_time DESC, id DESC, namespace, name);
