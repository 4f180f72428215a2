-- +goose Up

-- A project user's role in the web console (docs/console.md, Roles;
-- docs/security.md, Web console): admin does everything, operator changes
-- the inventory and scans but not users or credentials, viewer only reads.
-- Every user before roles could do everything, so existing rows become
-- admin (the default), and no project is left without an admin.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'
    CHECK (role IN ('admin', 'operator', 'viewer'));

-- +goose Down
ALTER TABLE users DROP COLUMN role;
