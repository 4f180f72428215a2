-- +goose Up

-- One row per OSV record: the compact record (vulndb.Record as JSON) and
-- what an upsert needs to decide whether an incoming copy wins.
CREATE TABLE vulns (
    id        TEXT PRIMARY KEY,
    modified  INTEGER NOT NULL, -- unix ms of the record's `modified`
    withdrawn INTEGER NOT NULL DEFAULT 0,
    hash      BLOB NOT NULL,    -- first 16 bytes of sha256(data)
    data      BLOB NOT NULL
);

-- (normalised ecosystem, normalised package name) → record; withdrawn
-- records have no rows here, so they never reach the matcher.
CREATE TABLE vuln_affected (
    ecosystem TEXT NOT NULL,
    name      TEXT NOT NULL,
    vuln_id   TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, vuln_id)
) WITHOUT ROWID;
CREATE INDEX vuln_affected_vuln ON vuln_affected (vuln_id);

CREATE TABLE vuln_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    started_at  INTEGER NOT NULL, -- unix ms
    finished_at INTEGER NOT NULL, -- unix ms
    records     INTEGER NOT NULL,
    written     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE vuln_imports;
DROP TABLE vuln_affected;
DROP TABLE vulns;
