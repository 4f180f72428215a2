package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store"
)

// TestUserRoles: `openhss user create` makes an admin unless --role says
// otherwise (scripts written before roles keep working), refuses an
// unknown role, and `openhss user set-role` changes a role but never
// demotes the project's last admin (docs/console.md, Roles).
func TestUserRoles(t *testing.T) {
	data := t.TempDir()
	g := []string{"--data", data, "--log-level", "error"}
	const project = "roleproject"
	create := func(name string, extra ...string) (string, error) {
		return run(t, "password-123\n", append(append([]string{"user", "create", "--name", name, "--project", project, "--password-stdin"}, extra...), g...)...)
	}
	if out, err := create("ann"); err != nil || !strings.Contains(out, "created user ann (admin)") {
		t.Fatalf("user create without --role: %v %q", err, out)
	}
	if out, err := create("vic", "--role", "viewer", "--json"); err != nil || !strings.Contains(out, `"role": "viewer"`) {
		t.Fatalf("user create --role viewer: %v %q", err, out)
	}
	if _, err := create("root", "--role", "root"); err == nil || !strings.Contains(err.Error(), "must be admin, operator or viewer") {
		t.Fatalf("user create --role root: %v", err)
	}
	setRole := func(name, role string) error {
		_, err := run(t, "", append([]string{"user", "set-role", "--name", name, "--project", project, "--role", role}, g...)...)
		return err
	}
	if err := setRole("ann", "viewer"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("set-role of the last admin: %v, want refused", err)
	}
	if err := setRole("vic", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := setRole("ann", "operator"); err != nil {
		t.Fatalf("set-role of one of two admins: %v", err)
	}
	if err := setRole("nobody", "admin"); err == nil {
		t.Fatal("set-role of an unknown user passed")
	}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(data, "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	us, err := st.ListUsers(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]inventory.Role{}
	for _, u := range us {
		got[u.Name] = u.Role
	}
	if len(got) != 2 || got["ann"] != inventory.RoleOperator || got["vic"] != inventory.RoleAdmin {
		t.Fatalf("roles = %v, want ann operator and vic admin", got)
	}
}
