package iam

import (
	"context"
	"errors"
	"strings"
	"testing"

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
		_, err := ts.CreateUniqueUser(ctx, tc.project, tc.name, "correct-horse", all)
		if !errors.Is(err, ErrNameNotAvailable) || strings.Contains(err.Error(), p1) {
			t.Errorf("%s in %s: %v, want name not available without the project", tc.name, tc.project, err)
		}
	}
	if _, err := ts.CreateUniqueUser(ctx, p1, "bad name", "correct-horse", all); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := ts.CreateUniqueUser(ctx, p1, "carol", "short", all); !errors.Is(err, ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	bob, err := ts.CreateUniqueUser(ctx, p1, "bob", "correct-horse", inventory.Grant{IDs: []string{"ep1"}})
	if err != nil || bob.ProjectID != p1 || bob.Grant.All {
		t.Fatalf("CreateUniqueUser = %+v, %v", bob, err)
	}
	if _, err := ts.CreateUniqueUser(ctx, p2, "dave", "correct-horse", all); err != nil {
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
	if _, err := ts.CreateUniqueUser(ctx, p2, "bob", "correct-horse", all); err != nil {
		t.Errorf("bob again: %v", err)
	}
}
