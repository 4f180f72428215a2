-- +goose Up

-- "GOOS/GOARCH" of the Go binary a package was found in ("linux/amd64"):
-- a re-match of the stored inventory leaves out Go records whose code is
-- only built for other platforms, as the scan did (docs/scanner.md).
-- Empty for other packages, and for inventories stored before this
-- column: their Go packages match on every platform, as they did.
ALTER TABLE sbom_packages ADD COLUMN platform TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sbom_packages DROP COLUMN platform;
