package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// testUserRoles: a user's role round-trips (a zero or unknown role is
// refused), SetUserRole changes one user of one
// project, a token read after it carries the new role even when the old one
// was cached, and the project's last admin can be neither demoted nor
// deleted (nothing changed). docs/security.md, Web console.
func testUserRoles(t *testing.T, e *env) {
	ctx := e.ctx
	mk := func(project, name string, role inventory.Role) inventory.User {
		t.Helper()
		u, err := e.st.CreateUser(ctx, inventory.User{ProjectID: project, Name: name, PasswordHash: "h", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	roleOf := func(project, name string) inventory.Role {
		t.Helper()
		u, err := e.st.GetUserByName(ctx, project, name)
		if err != nil {
			t.Fatal(err)
		}
		return u.Role
	}
	ann := mk("p1", "ann", inventory.RoleAdmin)
	olga := mk("p1", "olga", inventory.RoleOperator)
	vic := mk("p1", "vic", inventory.RoleViewer)
	mk("p2", "ann", inventory.RoleAdmin) // another project's admin of the same name
	for name, want := range map[string]inventory.Role{"ann": inventory.RoleAdmin, "olga": inventory.RoleOperator, "vic": inventory.RoleViewer} {
		if got := roleOf("p1", name); got != want {
			t.Errorf("role of %s = %q, want %q", name, got, want)
		}
	}
	us, err := e.st.ListUsers(ctx, "p1")
	if err != nil || len(us) != 3 || us[0].Role != inventory.RoleAdmin || us[1].Role != inventory.RoleOperator || us[2].Role != inventory.RoleViewer {
		t.Fatalf("ListUsers(p1) = %+v, %v", us, err)
	}
	// No role is refused as an unknown one is: an insert path that forgot
	// the role must not make an admin.
	for _, role := range []inventory.Role{"root", ""} {
		if _, err := e.st.CreateUser(ctx, inventory.User{ProjectID: "p1", Name: "x", PasswordHash: "h", Role: role}); err == nil {
			t.Fatalf("CreateUser stored the role %q", role)
		}
	}

	// The token carries the user's role as it is when read: cached as
	// viewer, read again as operator after the change.
	tok := inventory.Token{Hash: "vic-token", UserID: vic.ID, ProjectID: "p1", Grant: inventory.Grant{All: true}, CreatedAt: 1, ExpiresAt: 1 << 50}
	if err := e.st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if gt, err := e.st.GetToken(ctx, tok.Hash); err != nil || gt.Role != inventory.RoleViewer {
		t.Fatalf("GetToken = %+v, %v; want role viewer", gt, err)
	}
	if err := e.st.SetUserRole(ctx, "p1", vic.ID, inventory.RoleOperator); err != nil {
		t.Fatal(err)
	}
	if gt, err := e.st.GetToken(ctx, tok.Hash); err != nil || gt.Role != inventory.RoleOperator {
		t.Fatalf("GetToken after the change = %+v, %v; want role operator", gt, err)
	}
	if got := roleOf("p1", "vic"); got != inventory.RoleOperator {
		t.Fatalf("role of vic = %q", got)
	}

	wantErr(t, e.st.SetUserRole(ctx, "p2", vic.ID, inventory.RoleAdmin), inventory.ErrNotFound) // another project's id
	wantErr(t, e.st.SetUserRole(ctx, "p1", 1<<40, inventory.RoleAdmin), inventory.ErrNotFound)
	if err := e.st.SetUserRole(ctx, "p1", vic.ID, "root"); err == nil {
		t.Fatal("SetUserRole stored the unknown role root")
	}

	// ann is p1's only admin: neither a demotion nor a deletion passes,
	// and both leave her as she was; p2's admin of the same name does not
	// count for p1.
	wantErr(t, e.st.SetUserRole(ctx, "p1", ann.ID, inventory.RoleViewer), inventory.ErrLastAdmin)
	wantErr(t, e.st.DeleteUser(ctx, "p1", ann.ID, 9), inventory.ErrLastAdmin)
	if got := roleOf("p1", "ann"); got != inventory.RoleAdmin {
		t.Fatalf("the refused demotion left ann %q", got)
	}
	if err := e.st.SetUserRole(ctx, "p1", ann.ID, inventory.RoleAdmin); err != nil {
		t.Fatalf("keeping the last admin an admin: %v", err)
	}
	// With a second admin, the first can go.
	if err := e.st.SetUserRole(ctx, "p1", olga.ID, inventory.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetUserRole(ctx, "p1", ann.ID, inventory.RoleViewer); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	wantErr(t, e.st.DeleteUser(ctx, "p1", olga.ID, 9), inventory.ErrLastAdmin)
	if err := e.st.DeleteUser(ctx, "p1", ann.ID, 9); err != nil { // a viewer now
		t.Fatal(err)
	}
	if got := roleOf("p2", "ann"); got != inventory.RoleAdmin {
		t.Fatalf("p2's ann became %q", got)
	}
}

// testLastAdminConcurrently: two admins demoting each other at once, or
// deleting each other, leave the project an admin: one change passes, the
// other answers ErrLastAdmin (on PostgreSQL the user rows are locked, on
// SQLite writes run one at a time).
func testLastAdminConcurrently(t *testing.T, e *env) {
	ctx := e.ctx
	for i := range 5 {
		project := fmt.Sprintf("race%d", i)
		a, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: project, Name: "a", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: project, Name: "b", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, id := range []int64{a.ID, b.ID} {
			wg.Go(func() {
				if i%2 == 0 {
					errs[j] = e.st.SetUserRole(ctx, project, id, inventory.RoleViewer)
				} else {
					errs[j] = e.st.DeleteUser(ctx, project, id, 1)
				}
			})
		}
		wg.Wait()
		last := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, inventory.ErrLastAdmin):
				last++
			case err != nil:
				t.Fatalf("%s: %v", project, err)
			}
		}
		us, err := e.st.ListUsers(ctx, project)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range us {
			if u.Role == inventory.RoleAdmin {
				admins++
			}
		}
		if last != 1 || admins != 1 {
			t.Fatalf("%s: %d refusals and %d admins left (%+v), want 1 and 1", project, last, admins, us)
		}
	}
}
