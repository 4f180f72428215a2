package iam

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// TestUsers: the console's user management — a name taken in any project
// refused without naming the project, a project's users listed alone,
// deleting one ending its sessions, nobody deleting themself, another
// project's user not found.
func TestUsers(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	const p1, p2 = "project-one", "project-two"
	all := inventory.Grant{All: true}
	alice, err := ts.CreateUser(ctx, p1, "alice", "correct-horse", all)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ project, name string }{{p2, "alice"}, {p1, "alice"}} {
		_, err := ts.CreateUniqueUser(ctx, tc.project, tc.name, "correct-horse", all, inventory.RoleAdmin)
		if !errors.Is(err, ErrNameNotAvailable) || strings.Contains(err.Error(), p1) {
			t.Errorf("%s in %s: %v, want name not available without the project", tc.name, tc.project, err)
		}
	}
	if _, err := ts.CreateUniqueUser(ctx, p1, "bad name", "correct-horse", all, inventory.RoleAdmin); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := ts.CreateUniqueUser(ctx, p1, "carol", "short", all, inventory.RoleAdmin); !errors.Is(err, ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	bob, err := ts.CreateUniqueUser(ctx, p1, "bob", "correct-horse", inventory.Grant{IDs: []string{"ep1"}}, inventory.RoleViewer)
	if err != nil || bob.ProjectID != p1 || bob.Grant.All {
		t.Fatalf("CreateUniqueUser = %+v, %v", bob, err)
	}
	if _, err := ts.CreateUniqueUser(ctx, p2, "dave", "correct-horse", all, inventory.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	names := func(project string) string {
		us, err := ts.ListUsers(ctx, project)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(p1); got != "alice,bob" {
		t.Fatalf("users of %s: %s", p1, got)
	}
	token, _, _, err := ts.SignIn(ctx, "bob", "correct-horse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AuthenticateToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := ts.DeleteUser(ctx, p1, alice.ID, alice.ID); !errors.Is(err, ErrSelf) {
		t.Errorf("deleting oneself: %v", err)
	}
	if err := ts.DeleteUser(ctx, p2, bob.ID, 0); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("deleting another project's user: %v", err)
	}
	if err := ts.DeleteUser(ctx, p1, bob.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AuthenticateToken(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("deleted user's session: %v, want unauthenticated", err)
	}
	if got := names(p1); got != "alice" {
		t.Errorf("users after the delete: %s", got)
	}
	// The name is free again.
	if _, err := ts.CreateUniqueUser(ctx, p2, "bob", "correct-horse", all, inventory.RoleAdmin); err != nil {
		t.Errorf("bob again: %v", err)
	}
}

// TestUserRoles: a token carries its user's role, read with the token, so a
// change applies to the sessions the user already has at their next
// request; nobody changes their own role; unknown roles are refused; an
// AK/SK caller may do what an operator may (docs/security.md, Web console).
func TestUserRoles(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	const p1 = "project-one"
	all := inventory.Grant{All: true}
	ann, err := ts.CreateUser(ctx, p1, "ann", "correct-horse", all)
	if err != nil || ann.Role != inventory.RoleAdmin {
		t.Fatalf("CreateUser = %+v, %v; want an admin", ann, err)
	}
	vic, err := ts.CreateUserWithRole(ctx, p1, "vic", "correct-horse", all, inventory.RoleViewer)
	if err != nil || vic.Role != inventory.RoleViewer {
		t.Fatalf("CreateUserWithRole = %+v, %v", vic, err)
	}
	if _, err := ts.CreateUserWithRole(ctx, p1, "root", "correct-horse", all, "root"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: %v, want ErrInvalid", err)
	}
	token, _, _, err := ts.SignIn(ctx, "vic", "correct-horse")
	if err != nil {
		t.Fatal(err)
	}
	role := func() inventory.Role {
		t.Helper()
		p, err := ts.AuthenticateToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return p.Role
	}
	if got := role(); got != inventory.RoleViewer {
		t.Fatalf("vic's session role = %q", got)
	}
	if err := ts.SetUserRole(ctx, p1, vic.ID, vic.ID, inventory.RoleAdmin); !errors.Is(err, ErrSelf) {
		t.Errorf("raising one's own role: %v, want ErrSelf", err)
	}
	if got := role(); got != inventory.RoleViewer {
		t.Fatalf("the refused raise left vic %q", got)
	}
	if err := ts.SetUserRole(ctx, p1, vic.ID, ann.ID, "root"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: %v, want ErrInvalid", err)
	}
	if err := ts.SetUserRole(ctx, p1, vic.ID, ann.ID, inventory.RoleOperator); err != nil {
		t.Fatal(err)
	}
	if got := role(); got != inventory.RoleOperator {
		t.Fatalf("vic's session after the change = %q, want operator", got)
	}
	if err := ts.SetUserRole(ctx, p1, ann.ID, 0, inventory.RoleViewer); !errors.Is(err, inventory.ErrLastAdmin) {
		t.Errorf("demoting the last admin: %v, want ErrLastAdmin", err)
	}
	for _, tc := range []struct {
		p    Principal
		need inventory.Role
		want bool
	}{
		{Principal{UserID: 1, Role: inventory.RoleViewer}, inventory.RoleViewer, true},
		{Principal{UserID: 1, Role: inventory.RoleViewer}, inventory.RoleOperator, false},
		{Principal{UserID: 1, Role: inventory.RoleOperator}, inventory.RoleOperator, true},
		{Principal{UserID: 1, Role: inventory.RoleOperator}, inventory.RoleAdmin, false},
		{Principal{UserID: 1, Role: inventory.RoleAdmin}, inventory.RoleAdmin, true},
		{Principal{UserID: 1}, inventory.RoleViewer, false}, // a deleted user's role
		{Principal{AccessKey: "AK"}, inventory.RoleOperator, true},
		{Principal{AccessKey: "AK"}, inventory.RoleAdmin, false},
	} {
		if got := tc.p.Allows(tc.need); got != tc.want {
			t.Errorf("%+v.Allows(%s) = %v, want %v", tc.p, tc.need, got, tc.want)
		}
	}
}

// TestTokenOfAGoneUser: a token whose user no longer exists (stored by a
// sign-in that raced the user's deletion, after its tokens were revoked)
// authenticates nobody.
func TestTokenOfAGoneUser(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	const token = "a-token-of-nobody"
	if err := ts.store.CreateToken(ctx, inventory.Token{Hash: sha256Hex([]byte(token)), UserID: 4242, ProjectID: "p1",
		Grant: inventory.Grant{All: true}, CreatedAt: ts.now.UnixMilli(), ExpiresAt: ts.now.Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if p, err := ts.AuthenticateToken(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("token of a gone user: %+v, %v; want ErrUnauthenticated", p, err)
	}
}

// TestFirstUserIsAdmin: a project's first user must be an admin (nobody
// could manage the users of a project without one); once it has one, any
// role may be added.
func TestFirstUserIsAdmin(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	all := inventory.Grant{All: true}
	for _, role := range []inventory.Role{inventory.RoleViewer, inventory.RoleOperator} {
		if _, err := ts.CreateUserWithRole(ctx, "fresh", "first-"+string(role), "correct-horse", all, role); !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "must be an admin") {
			t.Errorf("first user as %s: %v, want ErrInvalid", role, err)
		}
	}
	if us, err := ts.ListUsers(ctx, "fresh"); err != nil || len(us) != 0 {
		t.Fatalf("refused users stored: %+v, %v", us, err)
	}
	if _, err := ts.CreateUser(ctx, "fresh", "boss", "correct-horse", all); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreateUserWithRole(ctx, "fresh", "vic", "correct-horse", all, inventory.RoleViewer); err != nil {
		t.Errorf("a viewer beside an admin: %v", err)
	}
}
