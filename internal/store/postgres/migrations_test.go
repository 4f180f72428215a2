package postgres

import (
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openhss/openhss/internal/inventory/storetest"
)

func TestUserRolesMigration(t *testing.T) {
	testDSN(t)
	s := open(t, newSchema(t))
	defer s.Close()
	storetest.UserRolesMigration(t, s, goose.DialectPostgres, s.db, migrations)
}

func TestNamespacesMigration(t *testing.T) {
	testDSN(t)
	s := open(t, newSchema(t))
	defer s.Close()
	storetest.NamespacesMigration(t, s, goose.DialectPostgres, s.db, migrations)
}
