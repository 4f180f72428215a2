-- +goose Up

-- The parts (scan_scope groups, filled: 0x000fffff is every part) of the
-- scan that recorded the manifest's shared result. A scan of some parts
-- leaves the others' findings as an older scan stored them, so another
-- project's scan asking for a part this one did not run must not take the
-- result as its own (docs/scanner.md, Scan scope). Results stored before
-- the column were full scans.
ALTER TABLE manifests ADD COLUMN scan_scope INTEGER NOT NULL DEFAULT 1048575;

-- +goose Down
ALTER TABLE manifests DROP COLUMN scan_scope;
