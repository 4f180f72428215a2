-- +goose Up

-- A project's own sensitive-information file path whitelist
-- (POST /image/sensitive/filepath-whitelist replaces it whole). position
-- keeps the order the client gave; the server-wide default list
-- (--sensitive-allowlist) is configuration, not stored here.
CREATE TABLE sensitive_path_whitelist (
    project_id TEXT NOT NULL,
    position   INTEGER NOT NULL,
    path       TEXT NOT NULL,
    PRIMARY KEY (project_id, position)
);

-- +goose Down
DROP TABLE sensitive_path_whitelist;
