-- +goose Up

-- What the analyzers beyond the software inventory found in a scanned
-- manifest. Replaced with the SBOM, in one transaction, by every scan.

-- Every baseline rule evaluated, passed or failed.
CREATE TABLE baseline_results (
    digest      TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    check_name  TEXT NOT NULL DEFAULT '',
    check_type  TEXT NOT NULL DEFAULT '',
    severity    TEXT NOT NULL DEFAULT '',
    standard    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    passed      INTEGER NOT NULL DEFAULT 0,
    evidence    TEXT NOT NULL DEFAULT '', -- never a secret value
    PRIMARY KEY (digest, rule_id)
) WITHOUT ROWID;

-- Accounts with an empty or weak password. The password is never stored.
CREATE TABLE weak_passwords (
    digest       TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    path         TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL DEFAULT '',
    layer_digest TEXT NOT NULL DEFAULT '',
    user_type    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, user_name, path)
) WITHOUT ROWID;

CREATE TABLE malware_findings (
    digest       TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    rule         TEXT NOT NULL DEFAULT '',
    file_name    TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    layer_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, file_path, rule)
) WITHOUT ROWID;

-- Sensitive information; content is masked (a prefix and the length).
CREATE TABLE secret_findings (
    digest       TEXT NOT NULL,
    id           TEXT NOT NULL,
    rule_id      TEXT NOT NULL DEFAULT '',
    severity     TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    file_path    TEXT NOT NULL DEFAULT '',
    line         INTEGER NOT NULL DEFAULT 0,
    layer_digest TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, id)
) WITHOUT ROWID;

-- Hashes of the executables and scripts of a manifest, so that a new
-- malware signature is checked without pulling the image again.
CREATE TABLE file_hashes (
    digest       TEXT NOT NULL,
    path         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL DEFAULT 0,
    layer_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, path)
) WITHOUT ROWID;
CREATE INDEX file_hashes_sha256 ON file_hashes (sha256);

-- The malware hash database (openhss malware import).
CREATE TABLE malware_signatures (
    sha256      TEXT PRIMARY KEY, -- lowercase hex
    name        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    imported_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- +goose Down
DROP TABLE malware_signatures;
DROP INDEX file_hashes_sha256;
DROP TABLE file_hashes;
DROP TABLE secret_findings;
DROP TABLE malware_findings;
DROP TABLE weak_passwords;
DROP TABLE baseline_results;
