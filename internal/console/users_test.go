package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

func (e *env) users(project string) map[string]inventory.User {
	e.t.Helper()
	us, err := e.st.ListUsers(context.Background(), project)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]inventory.User{}
	for _, u := range us {
		out[u.Name] = u
	}
	return out
}

// TestSettingsUsers: the project's users on Settings — listed for the
// session's project only, created with the session's grant for a name no
// project has ("name not available", naming no project), deleted with
// their sessions ended; nobody deletes themself, another project's user
// is not found, and without the CSRF token nothing changes.
func TestSettingsUsers(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve")
	_, body := e.do("GET", "/settings", nil, alice)
	a, ev, b := e.users(projA)["alice"], e.users(projA)["eve"], e.users(projB)["bob"]
	if !strings.Contains(body, `<td>alice <span class="tag">you</span></td>`) ||
		!strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/delete"`, ev.ID)) ||
		strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/delete"`, a.ID)) || strings.Contains(body, "bob") {
		t.Fatalf("users part: want alice (you, no Delete), eve with Delete, not bob:\n%s", body)
	}
	before := len(e.users(projA))
	for _, tc := range []struct {
		name, path string
		form       url.Values
	}{
		{"create without token", "/settings/users/create", url.Values{"name": {"mallory"}, "password": {"correct-horse"}}},
		{"create with another session's token", "/settings/users/create", url.Values{"name": {"mallory"}, "password": {"correct-horse"}, "csrf": {eveCSRF}}},
		{"delete without token", fmt.Sprintf("/settings/users/%d/delete", ev.ID), url.Values{}},
	} {
		if resp, _ := e.do("POST", tc.path, tc.form, alice); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s, want 403", tc.name, resp.Status)
		}
	}
	if n := len(e.users(projA)); n != before {
		t.Fatalf("refused forms changed the users: %d, want %d", n, before)
	}
	// A taken name, in this project or another, is "name not available"
	// and names no project.
	for _, name := range []string{"bob", "alice"} {
		resp, body := e.do("POST", "/settings/users/create", url.Values{"name": {name}, "password": {"secret-password-1"}, "csrf": {csrf}}, alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "name not available") || strings.Contains(body, projB) ||
			strings.Contains(body, "secret-password-1") {
			t.Errorf("create %s: %s\n%s", name, resp.Status, body)
		}
	}
	if resp, body := e.do("POST", "/settings/users/create", url.Values{"name": {"carol"}, "password": {"short"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "password must be") {
		t.Errorf("short password: %s\n%s", resp.Status, body)
	}
	if n := len(e.users(projA)); n != before || len(e.users(projB)) != 1 {
		t.Fatalf("refused creates stored users")
	}
	resp, body := e.do("POST", "/settings/users/create", url.Values{"name": {"carol"}, "password": {"correct-horse"}, "csrf": {csrf}}, alice)
	carol, ok := e.users(projA)["carol"]
	if resp.StatusCode != http.StatusOK || !ok || !carol.Grant.All || !strings.Contains(body, "User carol created") || strings.Contains(body, "correct-horse") {
		t.Fatalf("create carol: %s, %+v\n%s", resp.Status, carol, body)
	}
	// Eve's users get her grant, never wider.
	e.do("POST", "/settings/users/create", url.Values{"name": {"dan"}, "password": {"correct-horse"}, "csrf": {eveCSRF}}, eve)
	if dan := e.users(projA)["dan"]; dan.Grant.All || !slices.Equal(dan.Grant.IDs, []string{"ep1"}) {
		t.Errorf("dan's grant %+v, want eve's (ep1)", dan.Grant)
	}
	carolSession, _ := e.signIn("carol")
	// Nobody deletes themself; another project's user is not found.
	if resp, body := e.do("POST", fmt.Sprintf("/settings/users/%d/delete", a.ID), url.Values{"csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "You cannot delete yourself.") {
		t.Errorf("self delete: %s\n%s", resp.Status, body)
	}
	for _, path := range []string{fmt.Sprintf("/settings/users/%d/delete", b.ID), "/settings/users/x/delete", "/settings/users/999999/delete"} {
		if resp, _ := e.do("POST", path, url.Values{"csrf": {csrf}}, alice); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", path, resp.Status)
		}
	}
	if _, ok := e.users(projA)["alice"]; !ok || len(e.users(projB)) != 1 {
		t.Fatal("a refused delete deleted a user")
	}
	resp, body = e.do("POST", fmt.Sprintf("/settings/users/%d/delete", carol.ID), url.Values{"csrf": {csrf}}, alice)
	if _, still := e.users(projA)["carol"]; resp.StatusCode != http.StatusOK || still || !strings.Contains(body, "User carol deleted") {
		t.Fatalf("delete carol: %s (still there: %v)\n%s", resp.Status, still, body)
	}
	// The answer lists the users left: not carol, every other one.
	dan := e.users(projA)["dan"]
	if strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/delete"`, carol.ID)) ||
		!strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/delete"`, ev.ID)) ||
		!strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/delete"`, dan.ID)) ||
		!strings.Contains(body, `<td>alice <span class="tag">you</span></td>`) {
		t.Errorf("the users after carol's delete: want alice, eve and dan, not carol:\n%s", body)
	}
	if _, body := e.do("GET", "/settings", nil, carolSession); !strings.Contains(body, `action="/signin"`) {
		t.Errorf("the deleted user's session still works:\n%.500s", body)
	}
}
