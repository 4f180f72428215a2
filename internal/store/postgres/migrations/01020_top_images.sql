-- +goose Up

-- The web console's top images (sqlstore TopImages, docs/console.md): per
-- enterprise project and severity level, the rows with vulnerabilities by
-- vul_num, most first, then id. Each of its reads is one range of this
-- index, walked in order and stopped at the places left (5 entries on the
-- Overview); images_severity instead left a whole level's rows (78,000 of
-- 10^6, docs/benchmarks.md, Web console) to read and sort. Partial: rows
-- without vulnerabilities (most of them) cost no index write. The query
-- writes vul_num > 0 as a literal, so that a generic plan sees it implies
-- the predicate.
CREATE INDEX images_top ON images (project_id, enterprise_project_id, severity_level, vul_num DESC, id)
WHERE vul_num > 0;

-- +goose Down
DROP INDEX images_top;
