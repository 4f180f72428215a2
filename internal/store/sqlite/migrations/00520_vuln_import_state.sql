-- +goose Up

-- An import is logged when it starts and its counts grow with each batch
-- it commits, so an import cut short (kill -9) leaves a log that agrees
-- with the records it wrote. Rows logged before were complete imports.
ALTER TABLE vuln_imports ADD COLUMN state TEXT NOT NULL DEFAULT 'complete';
ALTER TABLE vuln_imports ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX vuln_imports_source ON vuln_imports (source, id);

-- +goose Down
DROP INDEX vuln_imports_source;
ALTER TABLE vuln_imports DROP COLUMN owner;
ALTER TABLE vuln_imports DROP COLUMN state;
