-- +goose Up

-- The software inventory of a scanned manifest. Keyed by digest, as
-- manifests are: one scan serves every tag, registry and project that
-- points at the content. Text columns compared or ordered on are
-- COLLATE "C", so that pages come in the SQLite store's bytewise order.
CREATE TABLE sboms (
    digest     TEXT COLLATE "C" PRIMARY KEY,
    layers     TEXT[] NOT NULL DEFAULT '{}', -- layer digests, base first
    os_id      TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    os_name    TEXT NOT NULL DEFAULT '',
    scanned_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE sbom_packages (
    digest         TEXT COLLATE "C" NOT NULL,
    idx            INTEGER NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    version        TEXT COLLATE "C" NOT NULL DEFAULT '',
    ecosystem      TEXT NOT NULL DEFAULT '',
    source_name    TEXT NOT NULL DEFAULT '',
    source_version TEXT NOT NULL DEFAULT '',
    type           TEXT NOT NULL DEFAULT '',
    path           TEXT COLLATE "C" NOT NULL DEFAULT '',
    layer_digest   TEXT NOT NULL DEFAULT '',
    purl           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest, idx)
);

-- What is wrong with a manifest's packages under the current vulnerability
-- data: rewritten by every scan and every re-match, never by a pull.
CREATE TABLE scan_findings (
    digest           TEXT COLLATE "C" NOT NULL,
    pkg              INTEGER NOT NULL, -- sbom_packages.idx
    vuln_id          TEXT COLLATE "C" NOT NULL,
    vul_type         TEXT COLLATE "C" NOT NULL, -- linux_vul or app_vul
    repair_necessity TEXT COLLATE "C" NOT NULL,
    severity         TEXT NOT NULL DEFAULT '',
    score            DOUBLE PRECISION NOT NULL DEFAULT 0,
    fixed_version    TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    aliases          TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (digest, pkg, vuln_id)
);
CREATE INDEX scan_findings_vuln ON scan_findings (digest, vuln_id);

-- Where a local_image came from, so a worker can read it again. The path
-- is bytes: a file name need not be UTF-8, and text could not hold it.
CREATE TABLE local_sources (
    image_id BIGINT PRIMARY KEY,
    path     BYTEA NOT NULL,
    ref      TEXT NOT NULL DEFAULT ''
);

-- Small facts of the scan service: the vulnerability import the stored
-- findings were last matched against.
CREATE TABLE scan_meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Scans in flight, for the sweep that fails those whose job is gone.
CREATE INDEX manifests_pending ON manifests (scan_status) WHERE scan_status IN ('waiting_for_scan', 'scanning');

-- +goose Down
DROP INDEX manifests_pending;
DROP TABLE scan_meta;
DROP TABLE local_sources;
DROP TABLE scan_findings;
DROP TABLE sbom_packages;
DROP TABLE sboms;
