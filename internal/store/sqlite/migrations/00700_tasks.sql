-- +goose Up

-- Sync and scan tasks as records (docs/api.md, "Tasks"). A task watches
-- jobs, it does not run them: the sync and scan handlers mark its items as
-- they end, and keep the counts here in the same transaction.
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    type          TEXT NOT NULL,
    task_type     TEXT NOT NULL,
    name          TEXT NOT NULL,
    image_type    TEXT NOT NULL,
    state         TEXT NOT NULL,
    listing       BOOLEAN NOT NULL DEFAULT false,
    scan_scope    INTEGER NOT NULL DEFAULT 0,
    rate_limit    INTEGER NOT NULL DEFAULT 0,
    is_all        BOOLEAN NOT NULL DEFAULT false,
    total_num     INTEGER NOT NULL DEFAULT 0,
    success_num   INTEGER NOT NULL DEFAULT 0,
    failed_num    INTEGER NOT NULL DEFAULT 0,
    risky_num     INTEGER NOT NULL DEFAULT 0,
    begin_time    BIGINT NOT NULL,
    end_time      BIGINT NOT NULL DEFAULT 0,
    failed_reason TEXT NOT NULL DEFAULT '',
    -- Creation order, for tasks begun in the same millisecond.
    seq           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tasks_list ON tasks (project_id, type, begin_time DESC, seq DESC);

-- ref_id is the registry connection (sync) or the image row (scan); seq
-- keeps the order items were added in.
CREATE TABLE task_items (
    task_id       TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    ref_id        BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    digest        TEXT NOT NULL DEFAULT '',
    registry_id   BIGINT NOT NULL DEFAULT 0,
    registry_name TEXT NOT NULL DEFAULT '',
    registry_type TEXT NOT NULL DEFAULT '',
    namespace     TEXT NOT NULL DEFAULT '',
    image_name    TEXT NOT NULL DEFAULT '',
    image_version TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT 'pending',
    risky         BOOLEAN NOT NULL DEFAULT false,
    failed_reason TEXT NOT NULL DEFAULT '',
    finished_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, ref_id)
);
CREATE INDEX task_items_order ON task_items (task_id, seq);
-- What a finishing sync or scan looks up.
CREATE INDEX task_items_pending_ref ON task_items (ref_id) WHERE state = 'pending';
CREATE INDEX task_items_pending_digest ON task_items (digest) WHERE state = 'pending';

-- +goose Down
DROP TABLE task_items;
DROP TABLE tasks;
