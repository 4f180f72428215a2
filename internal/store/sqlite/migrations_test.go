package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openhss/openhss/internal/inventory/storetest"
)

func TestUserRolesMigration(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	storetest.UserRolesMigration(t, s, goose.DialectSQLite3, s.write, migrations)
}

func TestNamespacesMigration(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	storetest.NamespacesMigration(t, s, goose.DialectSQLite3, s.write, migrations)
}
