-- +goose Up

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT 0
);

-- Grants are stored as an "all" flag plus a JSON array of enterprise
-- project ids: they are only ever read whole.
CREATE TABLE credentials (
    access_key    TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    grant_all     INTEGER NOT NULL DEFAULT 0,
    grant_ids     TEXT NOT NULL DEFAULT '[]',
    description   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX credentials_project ON credentials (project_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    grant_all     INTEGER NOT NULL DEFAULT 0,
    grant_ids     TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, name)
);
CREATE INDEX users_name ON users (name);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    project_id TEXT NOT NULL,
    grant_all  INTEGER NOT NULL DEFAULT 0,
    grant_ids  TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE registries (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id             TEXT NOT NULL,
    enterprise_project_id  TEXT NOT NULL DEFAULT '0',
    name                   TEXT NOT NULL DEFAULT '',
    type                   TEXT NOT NULL,
    api_version            TEXT NOT NULL DEFAULT '',
    protocol               TEXT NOT NULL DEFAULT 'https',
    addr                   TEXT NOT NULL,
    username               TEXT NOT NULL DEFAULT '',
    password_sealed        BLOB,
    namespace              TEXT NOT NULL DEFAULT '',
    connect_cluster_id     TEXT NOT NULL DEFAULT '',
    get_scan_image_channel TEXT NOT NULL DEFAULT '',
    domain_name            TEXT NOT NULL DEFAULT '',
    shared_expires         INTEGER NOT NULL DEFAULT 0,
    instance_id            TEXT NOT NULL DEFAULT '',
    instance_name          TEXT NOT NULL DEFAULT '',
    instance_url           TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL DEFAULT 'pending',
    fail_reason            TEXT NOT NULL DEFAULT '',
    latest_sync_time       INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL DEFAULT 0,
    -- rows synced from it, kept by the images triggers: counting them per
    -- request would read every row of a million-image registry
    images_num             INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, addr, namespace)
);

-- manifests is the source of truth for what a digest is and for its scan
-- result; images rows carry copies so that the list reads one table.
CREATE TABLE manifests (
    digest             TEXT PRIMARY KEY,
    media_type         TEXT NOT NULL DEFAULT '',
    artifact_type      TEXT NOT NULL DEFAULT '',
    size               INTEGER NOT NULL DEFAULT 0,
    created            INTEGER NOT NULL DEFAULT 0,
    platform           TEXT NOT NULL DEFAULT '',
    scannable          INTEGER NOT NULL DEFAULT 0,
    scan_status        TEXT NOT NULL DEFAULT 'unscan',
    scan_failed_desc   TEXT NOT NULL DEFAULT '',
    latest_scan_time   INTEGER NOT NULL DEFAULT 0,
    vul_num            INTEGER NOT NULL DEFAULT 0,
    unsafe_setting_num INTEGER NOT NULL DEFAULT 0,
    malicious_file_num INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE index_members (
    index_digest  TEXT NOT NULL,
    position      INTEGER NOT NULL,
    member_digest TEXT NOT NULL,
    platform      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (index_digest, position)
) WITHOUT ROWID;

-- images holds the rows of the list. AUTOINCREMENT: an id is never reused
-- after its tag vanished, so a client never confuses two images.
CREATE TABLE images (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id            TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL DEFAULT '0',
    registry_id           INTEGER NOT NULL DEFAULT 0,
    image_type            TEXT NOT NULL,
    namespace             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    tag                   TEXT NOT NULL,
    digest                TEXT NOT NULL,
    manifest_digest       TEXT NOT NULL,
    is_index              INTEGER NOT NULL DEFAULT 0,
    image_size            INTEGER NOT NULL DEFAULT 0,
    first_seen            INTEGER NOT NULL DEFAULT 0,
    latest_update_time    INTEGER NOT NULL DEFAULT 0,
    latest_version        INTEGER NOT NULL DEFAULT 0,
    scannable             INTEGER NOT NULL DEFAULT 0,
    scan_status           TEXT NOT NULL DEFAULT 'unscan',
    scan_failed_desc      TEXT NOT NULL DEFAULT '',
    latest_scan_time      INTEGER NOT NULL DEFAULT 0,
    vul_num               INTEGER NOT NULL DEFAULT 0,
    unsafe_setting_num    INTEGER NOT NULL DEFAULT 0,
    malicious_file_num    INTEGER NOT NULL DEFAULT 0,
    domain_name           TEXT NOT NULL DEFAULT '',
    shared_expires        INTEGER NOT NULL DEFAULT 0,
    instance_id           TEXT NOT NULL DEFAULT '',
    instance_name         TEXT NOT NULL DEFAULT '',
    instance_url          TEXT NOT NULL DEFAULT ''
);
-- One row per (connection, repository, tag); local images have registry 0
-- and are unique per project.
CREATE UNIQUE INDEX images_tag ON images (registry_id, project_id, namespace, name, tag);
CREATE INDEX images_manifest ON images (manifest_digest);
-- The list's order, for every filter combination without a better index.
CREATE INDEX images_list ON images (project_id, image_type, latest_update_time DESC, id DESC, namespace, name);
CREATE INDEX images_ns ON images (project_id, image_type, namespace, latest_update_time DESC, id DESC, name);
CREATE INDEX images_repo ON images (project_id, image_type, namespace, name, latest_update_time DESC, id DESC);
-- Trailing count columns make it covering for has_*=false (success and 0).
CREATE INDEX images_status ON images (project_id, image_type, scan_status, latest_update_time DESC, id DESC,
    vul_num, unsafe_setting_num, malicious_file_num);
CREATE INDEX images_latest ON images (project_id, image_type, latest_update_time DESC, id DESC, latest_version) WHERE latest_version = 1;
-- vul_num trailing: the planner re-checks the partial index's condition,
-- and counting 10^5 entries must not read the table.
CREATE INDEX images_vul ON images (project_id, image_type, latest_update_time DESC, id DESC, vul_num) WHERE vul_num > 0;

-- image_repos counts rows per repository and enterprise project. The list
-- resolves namespace and image_name substrings against it (10^4 rows
-- instead of 10^6) before reading images through images_ns / images_repo by
-- exact value, and counts rows from it when the filter has no other
-- condition.
CREATE TABLE image_repos (
    project_id            TEXT NOT NULL,
    image_type            TEXT NOT NULL,
    namespace             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    enterprise_project_id TEXT NOT NULL,
    rows                  INTEGER NOT NULL,
    PRIMARY KEY (project_id, image_type, namespace, name, enterprise_project_id)
) WITHOUT ROWID;

-- images_gen is bumped by every change to images, in the same transaction.
-- ListImages caches total counts keyed by (filter, generation): a cached
-- count is only reused while the generation it was computed at is current.
CREATE TABLE images_gen (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    gen INTEGER NOT NULL
);
INSERT INTO images_gen (one, gen) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER images_ai AFTER INSERT ON images BEGIN
    UPDATE images_gen SET gen = gen + 1 WHERE one = 1;
    UPDATE registries SET images_num = images_num + 1 WHERE id = NEW.registry_id;
    INSERT INTO image_repos (project_id, image_type, namespace, name, enterprise_project_id, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.namespace, NEW.name, NEW.enterprise_project_id, 1)
    ON CONFLICT (project_id, image_type, namespace, name, enterprise_project_id) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_ad AFTER DELETE ON images BEGIN
    UPDATE images_gen SET gen = gen + 1 WHERE one = 1;
    UPDATE registries SET images_num = images_num - 1 WHERE id = OLD.registry_id;
    UPDATE image_repos SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND name = OLD.name AND enterprise_project_id = OLD.enterprise_project_id;
    DELETE FROM image_repos
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND name = OLD.name AND enterprise_project_id = OLD.enterprise_project_id AND rows <= 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER images_au AFTER UPDATE ON images BEGIN
    UPDATE images_gen SET gen = gen + 1 WHERE one = 1;
END;
-- +goose StatementEnd

-- A registry moved to another enterprise project moves its rows' counts.
-- +goose StatementBegin
CREATE TRIGGER images_au_ep AFTER UPDATE OF enterprise_project_id ON images
WHEN NEW.enterprise_project_id IS NOT OLD.enterprise_project_id
BEGIN
    UPDATE image_repos SET rows = rows - 1
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND name = OLD.name AND enterprise_project_id = OLD.enterprise_project_id;
    DELETE FROM image_repos
    WHERE project_id = OLD.project_id AND image_type = OLD.image_type AND namespace = OLD.namespace
      AND name = OLD.name AND enterprise_project_id = OLD.enterprise_project_id AND rows <= 0;
    INSERT INTO image_repos (project_id, image_type, namespace, name, enterprise_project_id, rows)
    VALUES (NEW.project_id, NEW.image_type, NEW.namespace, NEW.name, NEW.enterprise_project_id, 1)
    ON CONFLICT (project_id, image_type, namespace, name, enterprise_project_id) DO UPDATE SET rows = rows + 1;
END;
-- +goose StatementEnd

-- The other key columns of image_repos never change on UPDATE (project,
-- type, namespace and name identify a repository); enforce it rather than
-- track it.
-- +goose StatementBegin
CREATE TRIGGER images_bu_keys BEFORE UPDATE OF project_id, image_type, namespace, name ON images
WHEN NEW.project_id IS NOT OLD.project_id OR NEW.image_type IS NOT OLD.image_type
  OR NEW.namespace IS NOT OLD.namespace OR NEW.name IS NOT OLD.name
BEGIN
    SELECT RAISE(ABORT, 'images: repository key columns are immutable');
END;
-- +goose StatementEnd

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    project_id TEXT NOT NULL DEFAULT '',
    payload    BLOB,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    owner      TEXT NOT NULL DEFAULT '',
    lease_till INTEGER NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
);
-- At most one live job per (kind, key): Enqueue relies on it.
CREATE UNIQUE INDEX jobs_live ON jobs (kind, key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_ready ON jobs (state, kind, id);

-- +goose Down
DROP TABLE jobs;
DROP TABLE images_gen;
DROP TABLE image_repos;
DROP TABLE images;
DROP TABLE index_members;
DROP TABLE manifests;
DROP TABLE registries;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE credentials;
DROP TABLE projects;
