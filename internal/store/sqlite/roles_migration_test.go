package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openhss/openhss/internal/inventory"
)

// TestUserRolesMigration: users made before migration 01040 become
// admins when it runs (docs/console.md, Roles), and it can be undone.
func TestUserRolesMigration(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 1039); err != nil {
		t.Fatalf("down: %v", err)
	}
	// A user as openhss stored them before roles.
	if _, err := s.write.ExecContext(ctx, `INSERT INTO users (project_id, name, password_hash) VALUES ('p1', 'old', 'h')`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	u, err := s.GetUserByName(ctx, "p1", "old")
	if err != nil || u.Role != inventory.RoleAdmin {
		t.Fatalf("a user from before roles: %+v, %v; want an admin", u, err)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE users SET role = 'root'`); err == nil {
		t.Fatal("the role column took 'root'")
	}
}
