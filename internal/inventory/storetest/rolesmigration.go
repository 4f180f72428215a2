package storetest

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openhss/openhss/internal/inventory"
)

// UserRolesMigration: users made before migration 01040 become admins when
// it runs (docs/console.md, Roles), it can be undone, and the role column
// takes no role openhss does not know. st is a store at the newest schema
// on db, whose engine's goose dialect is dialect and whose migrations are
// the migrations folder of fsys.
func UserRolesMigration(t *testing.T, st inventory.Store, dialect goose.Dialect, db *sql.DB, fsys fs.FS) {
	ctx := context.Background()
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, db, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 1039); err != nil {
		t.Fatalf("down: %v", err)
	}
	// A user as openhss stored them before roles.
	if _, err := db.ExecContext(ctx, `INSERT INTO users (project_id, name, password_hash) VALUES ('p1', 'old', 'h')`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	u, err := st.GetUserByName(ctx, "p1", "old")
	if err != nil || u.Role != inventory.RoleAdmin {
		t.Fatalf("a user from before roles: %+v, %v; want an admin", u, err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE users SET role = 'root'`); err == nil {
		t.Fatal("the role column took 'root'")
	}
}
