-- +goose Up

-- What the analyzers beyond the software inventory found in a scanned
-- manifest. Replaced with the SBOM, in one transaction, by every scan.

-- Every baseline rule evaluated, passed or failed.
CREATE TABLE baseline_results (
    digest      TEXT COLLATE "C" NOT NULL,
    rule_id     TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    check_name  TEXT NOT NULL DEFAULT '',
    check_type  TEXT NOT NULL DEFAULT '',
    severity    TEXT NOT NULL DEFAULT '',
    standard    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    remediation TEXT NOT NULL DEFAULT '',
    passed      BOOLEAN NOT NULL DEFAULT false,
    evidence    TEXT NOT NULL DEFAULT '', -- never a secret value
    PRIMARY KEY (digest, rule_id)
);

-- Accounts with an empty or weak password. The password is never stored.
CREATE TABLE weak_passwords (
    digest       TEXT COLLATE "C" NOT NULL,
    user_name    TEXT COLLATE "C" NOT NULL,
    path         TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL DEFAULT '',
    layer_digest TEXT NOT NULL DEFAULT '',
    user_type    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, user_name, path)
);

CREATE TABLE malware_findings (
    digest       TEXT COLLATE "C" NOT NULL,
    file_path    TEXT COLLATE "C" NOT NULL,
    rule         TEXT NOT NULL DEFAULT '',
    file_name    TEXT NOT NULL DEFAULT '',
    size         BIGINT NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    layer_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, file_path, rule)
);

-- Sensitive information; content is masked (a prefix and the length).
CREATE TABLE secret_findings (
    digest       TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    rule_id      TEXT NOT NULL DEFAULT '',
    severity     TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    file_path    TEXT NOT NULL DEFAULT '',
    line         INTEGER NOT NULL DEFAULT 0,
    layer_digest TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, id)
);

-- Hashes of the executables and scripts of a manifest, so that a new
-- malware signature is checked without pulling the image again.
CREATE TABLE file_hashes (
    digest       TEXT COLLATE "C" NOT NULL,
    path         TEXT COLLATE "C" NOT NULL,
    sha256       TEXT COLLATE "C" NOT NULL,
    size         BIGINT NOT NULL DEFAULT 0,
    layer_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, path)
);
CREATE INDEX file_hashes_sha256 ON file_hashes (sha256);

-- The malware hash database (openhss malware import).
CREATE TABLE malware_signatures (
    sha256      TEXT COLLATE "C" PRIMARY KEY, -- lowercase hex
    name        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    imported_at BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE malware_signatures;
DROP INDEX file_hashes_sha256;
DROP TABLE file_hashes;
DROP TABLE secret_findings;
DROP TABLE malware_findings;
DROP TABLE weak_passwords;
DROP TABLE baseline_results;
