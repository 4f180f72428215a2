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
	p := provider(t, dialect, db, fsys)
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

// NamespacesMigration: migration 01060 counts the images stored before it
// into image_namespaces, so that a namespace filter lists them as before
// (its substring is resolved there), and it can be undone and redone.
// Arguments as UserRolesMigration's.
func NamespacesMigration(t *testing.T, st inventory.Store, dialect goose.Dialect, db *sql.DB, fsys fs.FS) {
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, st: st}
	e.project("p1")
	reg := e.registry("p1", "ns.example", inventory.Harbor)
	p := provider(t, dialect, db, fsys)
	if _, err := p.DownTo(ctx, 1059); err != nil {
		t.Fatalf("down: %v", err)
	}
	// Synced without the table's triggers: only the migration counts them.
	d1, d2, d3 := Digest("ns/1"), Digest("ns/2"), Digest("ns/3")
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 10,
		Manifests: []inventory.Manifest{image(d1, 1, 1), image(d2, 2, 1), image(d3, 3, 1)},
		Repositories: []inventory.RepoSnapshot{
			repo("team-a", "web", tag("1", d1), tag("2", d2)), repo("team-a", "db", tag("1", d3)), repo("team-b", "web", tag("1", d1)),
		}})
	check := func(step string) {
		t.Helper()
		for ns, want := range map[string]int64{"team-a": 3, "team-b": 1, "team-": 4, "team-c": 0} {
			f := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Namespace: ns, Limit: 10}
			if got := e.list(f); got.Total != want || int64(len(got.Images)) != want {
				t.Errorf("%s: namespace %q: total_num %d, %d rows; want %d", step, ns, got.Total, len(got.Images), want)
			}
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	check("migrated")
	if _, err := p.DownTo(ctx, 1059); err != nil {
		t.Fatalf("down again: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	check("migrated again")
}

// provider is a goose provider of the migrations folder of fsys on db.
func provider(t *testing.T, dialect goose.Dialect, db *sql.DB, fsys fs.FS) *goose.Provider {
	t.Helper()
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, db, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
