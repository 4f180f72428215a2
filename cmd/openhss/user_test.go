package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

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

// TestUserSetPassword: `openhss user set-password` reads the new password
// from standard input only (--password-stdin, as `user create`: never an
// argument ps shows), applies the creation rule, and on success replaces
// the hash and revokes every token of the user; an unknown user is an
// error (docs/console.md, Users).
func TestUserSetPassword(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	g := []string{"--data", data, "--log-level", "error"}
	const project = "pwproject"
	if _, err := run(t, "password-123\n", append([]string{"user", "create", "--name", "ann", "--project", project, "--password-stdin"}, g...)...); err != nil {
		t.Fatal(err)
	}
	setPassword := func(stdin, name string, extra ...string) (string, error) {
		return run(t, stdin, append(append([]string{"user", "set-password", "--name", name, "--project", project}, extra...), g...)...)
	}
	open := func() store.Store {
		st, err := store.Open(ctx, "sqlite://"+filepath.Join(data, "openhss.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	ann, err := st.GetUserByName(ctx, project, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, inventory.Token{Hash: "ann-session", UserID: ann.ID, ProjectID: project, Grant: inventory.Grant{All: true},
		CreatedAt: 1, ExpiresAt: 1 << 50}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, tc := range []struct {
		name, stdin, user string
		extra             []string
		want              string
	}{
		{"without --password-stdin", "battery-staple\n", "ann", nil, "--password-stdin"},
		{"a plain --password argument", "", "ann", []string{"--password", "battery-staple"}, "unknown flag"},
		{"too short", "short\n", "ann", []string{"--password-stdin"}, "password must be 8 to 72 bytes"},
		{"empty", "\n", "ann", []string{"--password-stdin"}, "empty password"},
		{"unknown user", "battery-staple\n", "nobody", []string{"--password-stdin"}, "not found"},
	} {
		if _, err := setPassword(tc.stdin, tc.user, tc.extra...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	st = open()
	if u, _ := st.GetUserByName(ctx, project, "ann"); u.PasswordHash != ann.PasswordHash {
		t.Fatal("a refused set-password changed the hash")
	}
	if tok, err := st.GetToken(ctx, "ann-session"); err != nil || tok.RevokedAt != 0 {
		t.Fatalf("a refused set-password revoked the token: %+v, %v", tok, err)
	}
	st.Close()

	out, err := setPassword("battery-staple\n", "ann", "--password-stdin")
	if err != nil || !strings.Contains(out, "password of user ann in project pwproject set") || strings.Contains(out, "battery-staple") {
		t.Fatalf("set-password: %v %q", err, out)
	}
	// A new handle: another process's cached token row would be seen
	// revoked only after the token cache's bound (2 s, docs/security.md).
	st = open()
	defer st.Close()
	u, err := st.GetUserByName(ctx, project, "ann")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("battery-staple")) != nil {
		t.Fatalf("the stored hash is not of the new password: %v", err)
	}
	if tok, err := st.GetToken(ctx, "ann-session"); err != nil || tok.RevokedAt == 0 {
		t.Fatalf("the user's token outlived set-password: %+v, %v", tok, err)
	}
}
