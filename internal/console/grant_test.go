package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestAdminWithinGrant: an admin granted some enterprise projects manages
// only the users and credentials whose grant stays within theirs, as they
// create no user or credential beyond it: a wider one's role change,
// deletion, password reset or revocation is refused (403, nothing changed), a narrower
// one's passes (docs/security.md, Web console).
func TestAdminWithinGrant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(name string, role inventory.Role, g inventory.Grant) inventory.User {
		t.Helper()
		u, err := e.iam.CreateUserWithRole(ctx, projA, name, "correct-horse", g, role)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ep1 := inventory.Grant{IDs: []string{"ep1"}}
	mk("nora", inventory.RoleAdmin, ep1)
	wide := mk("wide", inventory.RoleViewer, inventory.Grant{All: true})
	two := mk("two", inventory.RoleViewer, inventory.Grant{IDs: []string{"ep1", "ep2"}})
	narrow := mk("narrow", inventory.RoleViewer, ep1)
	wideKey, _, err := e.iam.CreateCredential(ctx, projA, inventory.Grant{All: true}, "ci")
	if err != nil {
		t.Fatal(err)
	}
	narrowKey, _, err := e.iam.CreateCredential(ctx, projA, ep1, "ci-ep1")
	if err != nil {
		t.Fatal(err)
	}
	session, csrf := e.signIn("nora")
	for _, a := range []struct{ path, role string }{
		{fmt.Sprintf("/settings/users/%d/role", wide.ID), "admin"},
		{fmt.Sprintf("/settings/users/%d/delete", wide.ID), ""},
		{fmt.Sprintf("/settings/users/%d/password", wide.ID), ""},
		{fmt.Sprintf("/settings/users/%d/role", two.ID), "operator"},
		{"/settings/credentials/" + wideKey + "/delete", ""},
	} {
		before := e.state()
		resp, body := e.do("POST", a.path, url.Values{"csrf": {csrf}, "role": {a.role}}, session)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "can see enterprise projects your grant does not") {
			t.Errorf("%s beyond the admin's grant: %s, want 403\n%.400s", a.path, resp.Status, body)
		}
		if e.state() != before {
			t.Errorf("%s beyond the admin's grant changed the project", a.path)
		}
	}
	for _, path := range []string{fmt.Sprintf("/settings/users/%d/role", narrow.ID), "/settings/credentials/" + narrowKey + "/delete"} {
		if resp, body := e.do("POST", path, url.Values{"csrf": {csrf}, "role": {"operator"}}, session); resp.StatusCode != http.StatusOK {
			t.Errorf("%s within the admin's grant: %s\n%.400s", path, resp.Status, body)
		}
	}
	if u := e.users(projA)["narrow"]; u.Role != inventory.RoleOperator {
		t.Errorf("narrow's role: %s, want operator", u.Role)
	}
}
