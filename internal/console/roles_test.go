package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/tasks"
)

// state is everything a console POST can change in project A, as text:
// two snapshots are equal when nothing changed.
func (e *env) state() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	regs, _, err := e.st.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: projA, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range regs {
		fmt.Fprintf(&b, "registry %d %s %s %s %s %d %q\n", r.ID, r.Name, r.Addr, r.Username, r.Status, len(r.PasswordSealed), r.FailReason)
	}
	for _, typ := range []tasks.Type{tasks.Scan, tasks.Sync} {
		ts, _, err := e.st.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: typ, Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, t := range ts {
			fmt.Fprintf(&b, "task %s %s %s\n", t.ID, t.Type, t.State)
		}
	}
	fmt.Fprintf(&b, "scans %v %d cancelled %v syncs %v\n", e.scans.all(), len(e.scans.scanAlls()), e.scans.cancelled, e.syncs.all())
	wl, err := e.st.SensitivePathWhitelist(ctx, projA)
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(&b, "whitelist %v\n", wl)
	us, err := e.st.ListUsers(ctx, projA)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range us {
		fmt.Fprintf(&b, "user %d %s %s %s\n", u.ID, u.Name, u.Role, u.PasswordHash)
	}
	creds, err := e.st.ListCredentials(ctx, projA)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range creds {
		fmt.Fprintf(&b, "credential %s %d\n", c.AccessKey, c.RevokedAt)
	}
	j, found, err := e.updater.Latest(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(&b, "update job %v %d\n", found, j.ID)
	return b.String()
}

// userWithRole adds a user of project A with every enterprise project.
func (e *env) userWithRole(name string, role inventory.Role) inventory.User {
	e.t.Helper()
	u, err := e.iam.CreateUserWithRole(context.Background(), projA, name, "correct-horse", inventory.Grant{All: true}, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

var postForm = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// TestRolesRefuseByCategory: every console action, by category, for each
// role: a viewer is refused every change (403, a message naming the role
// needed, nothing changed), an operator every change of users and
// credentials, and neither sees a control it cannot use; an operator's
// inventory, scan and whitelist actions pass (docs/console.md, Roles).
func TestRolesRefuseByCategory(t *testing.T) {
	e := newEnv(t)
	e.userWithRole("olga", inventory.RoleOperator)
	vic := e.userWithRole("vic", inventory.RoleViewer)
	ctx := context.Background()
	reg := e.addStoredRegistry(projA, "0", "harbor-a", "registry.example.com", "pw")
	task := e.startScanTask(projA, e.rows["a1"])
	ak, _, err := e.iam.CreateCredential(ctx, projA, inventory.Grant{All: true}, "ci")
	if err != nil {
		t.Fatal(err)
	}
	eve := e.users(projA)["eve"]
	actions := []struct {
		category, path string
		form           url.Values
		need           inventory.Role
	}{
		{"scans", "/images/scan", url.Values{"id": {fmt.Sprint(e.rows["a1"])}}, inventory.RoleOperator},
		{"scans", "/images/scan-all", url.Values{"query": {"image_type=local_image"}}, inventory.RoleOperator},
		{"registries", "/registries/add", url.Values{"registry_name": {"new"}, "registry_type": {"Harbor"}, "protocol": {"https"},
			"registry_addr": {"registry.example.org"}}, inventory.RoleOperator},
		{"registries", "/registries/delete", url.Values{"id": {fmt.Sprint(reg.ID)}}, inventory.RoleOperator},
		{"registries", fmt.Sprintf("/registries/%d/edit", reg.ID), url.Values{"protocol": {"https"}, "registry_addr": {"registry.example.net"}}, inventory.RoleOperator},
		{"registries", fmt.Sprintf("/registries/%d/delete", reg.ID), url.Values{}, inventory.RoleOperator},
		{"registries", fmt.Sprintf("/registries/%d/test", reg.ID), url.Values{}, inventory.RoleOperator},
		{"sync", fmt.Sprintf("/registries/%d/sync", reg.ID), url.Values{}, inventory.RoleOperator},
		{"tasks", "/tasks/" + task.ID + "/stop", url.Values{}, inventory.RoleOperator},
		{"whitelists", "/settings/whitelist", url.Values{"customized_path": {"/opt/x"}}, inventory.RoleOperator},
		{"vulnerability data", "/settings/vulndata/update", url.Values{}, inventory.RoleOperator},
		{"users", "/settings/users/create", url.Values{"name": {"mallory"}, "password": {"correct-horse"}, "role": {"admin"}}, inventory.RoleAdmin},
		{"users", fmt.Sprintf("/settings/users/%d/delete", eve.ID), url.Values{}, inventory.RoleAdmin},
		{"users", fmt.Sprintf("/settings/users/%d/role", eve.ID), url.Values{"role": {"viewer"}}, inventory.RoleAdmin},
		{"users", fmt.Sprintf("/settings/users/%d/role", vic.ID), url.Values{"role": {"admin"}}, inventory.RoleAdmin},
		{"users", fmt.Sprintf("/settings/users/%d/password", eve.ID), url.Values{"password": {"battery-staple"}}, inventory.RoleAdmin},
		{"credentials", "/settings/credentials/create", url.Values{"description": {"x"}}, inventory.RoleAdmin},
		{"credentials", "/settings/credentials/" + ak + "/delete", url.Values{}, inventory.RoleAdmin},
	}
	for _, who := range []struct {
		name string
		role inventory.Role
	}{{"vic", inventory.RoleViewer}, {"olga", inventory.RoleOperator}} {
		session, csrf := e.signIn(who.name)
		for _, a := range actions {
			if who.role.Allows(a.need) {
				continue
			}
			before := e.state()
			form := url.Values{"csrf": {csrf}}
			for k, v := range a.form {
				form[k] = v
			}
			resp, body := e.do("POST", a.path, form, session)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Your role ("+string(who.role)+") does not allow this: it needs the "+string(a.need)+" role") ||
				!strings.Contains(body, "Nothing was changed.") {
				t.Errorf("%s (%s) %s %s: %s, want 403 naming the role\n%.400s", who.name, who.role, a.category, a.path, resp.Status, body)
			}
			if after := e.state(); after != before {
				t.Errorf("%s (%s) %s %s changed the project:\n%s\nwas\n%s", who.name, who.role, a.category, a.path, after, before)
			}
		}
		// No page shows a control the role cannot use: the viewer's
		// pages have no form but Sign out and the change of their own
		// password; the operator's Settings none of users or credentials.
		for _, p := range []string{"/", "/images", "/images?image_type=local_image", fmt.Sprintf("/images/%d", e.rows["a1"]), "/registries",
			fmt.Sprintf("/registries/%d", reg.ID), "/tasks", "/tasks/" + task.ID, "/settings"} {
			resp, body := e.do("GET", p, nil, session)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s GET %s: %s", who.name, p, resp.Status)
			}
			if !strings.Contains(body, `<span class="project" id="my-role">role `+string(who.role)+`</span>`) {
				t.Errorf("%s GET %s: the role is not shown", who.name, p)
			}
			for _, m := range postForm.FindAllStringSubmatch(body, -1) {
				action := m[1]
				admin := strings.HasPrefix(action, "/settings/users") || strings.HasPrefix(action, "/settings/credentials")
				allowed := action == "/signout" || action == "/settings/password" || who.role == inventory.RoleOperator && !admin
				if !allowed {
					t.Errorf("%s (%s) GET %s shows the form %s", who.name, who.role, p, action)
				}
			}
			if who.role == inventory.RoleViewer && (strings.Contains(body, `type="checkbox" name="id"`) || strings.Contains(body, "<textarea")) {
				t.Errorf("viewer GET %s shows a selection or a text area", p)
			}
		}
	}

	// What an operator may do passes: the whitelist, a sync, a scan.
	session, csrf := e.signIn("olga")
	for _, a := range []struct {
		path string
		form url.Values
	}{
		{"/settings/whitelist", url.Values{"customized_path": {"/opt/x"}}},
		{fmt.Sprintf("/registries/%d/sync", reg.ID), url.Values{}},
		{"/images/scan", url.Values{"id": {fmt.Sprint(e.rows["a2"])}}},
	} {
		a.form.Set("csrf", csrf)
		if resp, body := e.do("POST", a.path, a.form, session); resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
			t.Errorf("operator %s: %s\n%.400s", a.path, resp.Status, body)
		}
	}
	if wl, _ := e.st.SensitivePathWhitelist(ctx, projA); len(wl) != 1 || wl[0] != "/opt/x" {
		t.Errorf("the operator's whitelist was not stored: %v", wl)
	}
	if len(e.syncs.all()) != 1 {
		t.Errorf("the operator's sync was not queued: %v", e.syncs.all())
	}
	if got := e.scans.all(); len(got) != 1 || !slices.Contains(got[0], e.rows["a2"]) {
		t.Errorf("the operator's scan was not queued: %v", got)
	}
}

// TestRolesOnSettings: an admin sets a role when creating a user and
// changes a user's role; the change applies to that user's session at its
// next request (a promoted viewer may act at once, a demoted admin is
// refused at once), and nobody changes their own role (nothing changed).
func TestRolesOnSettings(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	_, body := e.do("GET", "/settings", nil, alice)
	a, ev := e.users(projA)["alice"], e.users(projA)["eve"]
	if !strings.Contains(body, fmt.Sprintf(`<td class="role" id="role-%d">admin</td>`, a.ID)) ||
		!strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/role"`, ev.ID)) ||
		strings.Contains(body, fmt.Sprintf(`action="/settings/users/%d/role"`, a.ID)) ||
		!strings.Contains(body, `<select id="new-user-role" name="role"><option value="admin">admin</option><option value="operator">operator</option><option value="viewer" selected>viewer</option></select>`) {
		t.Fatalf("users part: want roles, a role form for eve, none for alice, viewer preselected:\n%s", body)
	}
	// Created with the form's role; viewer when the form names none; an
	// unknown role refused.
	for _, tc := range []struct {
		name, role string
		want       inventory.Role
	}{{"olga", "operator", inventory.RoleOperator}, {"vic", "", inventory.RoleViewer}, {"ada", "admin", inventory.RoleAdmin}} {
		resp, body := e.do("POST", "/settings/users/create", url.Values{"name": {tc.name}, "password": {"correct-horse"}, "role": {tc.role}, "csrf": {csrf}}, alice)
		if u := e.users(projA)[tc.name]; resp.StatusCode != http.StatusOK || u.Role != tc.want || !strings.Contains(body, "User "+tc.name+" created as "+string(tc.want)) {
			t.Fatalf("create %s as %q: %s, %+v\n%s", tc.name, tc.role, resp.Status, u, body)
		}
	}
	before := e.state()
	if resp, body := e.do("POST", "/settings/users/create", url.Values{"name": {"root"}, "password": {"correct-horse"}, "role": {"root"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "role must be admin, operator or viewer") {
		t.Errorf("unknown role: %s\n%s", resp.Status, body)
	}
	if e.state() != before {
		t.Fatal("a refused create changed the users")
	}
	if resp, body := e.do("POST", fmt.Sprintf("/settings/users/%d/role", ev.ID), url.Values{"role": {"root"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "The role was not changed: role must be admin, operator or viewer.") {
		t.Errorf("unknown role for eve: %s\n%s", resp.Status, body)
	}
	if e.state() != before {
		t.Fatal("a refused role change changed the users")
	}

	// A role change applies to the user's session at its next request.
	vic := e.users(projA)["vic"]
	vicSession, vicCSRF := e.signIn("vic")
	wl := url.Values{"customized_path": {"/opt/a"}, "csrf": {vicCSRF}}
	if resp, _ := e.do("POST", "/settings/whitelist", wl, vicSession); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer whitelist: %s", resp.Status)
	}
	if resp, body := e.do("POST", fmt.Sprintf("/settings/users/%d/role", vic.ID), url.Values{"role": {"operator"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, "User vic is now operator") || e.users(projA)["vic"].Role != inventory.RoleOperator {
		t.Fatalf("promote vic: %s\n%s", resp.Status, body)
	}
	if resp, _ := e.do("POST", "/settings/whitelist", wl, vicSession); resp.StatusCode != http.StatusOK {
		t.Fatalf("vic promoted to operator, same session: whitelist %s, want 200", resp.Status)
	}
	ada := e.users(projA)["ada"]
	adaSession, adaCSRF := e.signIn("ada")
	if resp, _ := e.do("POST", fmt.Sprintf("/settings/users/%d/role", ada.ID), url.Values{"role": {"viewer"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("demote ada: %s", resp.Status)
	}
	before = e.state()
	if resp, _ := e.do("POST", "/settings/credentials/create", url.Values{"csrf": {adaCSRF}}, adaSession); resp.StatusCode != http.StatusForbidden || e.state() != before {
		t.Fatalf("ada demoted to viewer, same session: create credential %s, want 403 and nothing changed", resp.Status)
	}

	// Nobody changes their own role (not even an admin lowering it).
	olgaSession, olgaCSRF := e.signIn("olga")
	olga := e.users(projA)["olga"]
	if resp, _ := e.do("POST", fmt.Sprintf("/settings/users/%d/role", olga.ID), url.Values{"role": {"admin"}, "csrf": {olgaCSRF}}, olgaSession); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator raising her own role: %s, want 403", resp.Status)
	}
	if resp, body := e.do("POST", fmt.Sprintf("/settings/users/%d/role", a.ID), url.Values{"role": {"viewer"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "You cannot change your own role") {
		t.Errorf("admin changing her own role: %s\n%s", resp.Status, body)
	}
	if e.state() != before {
		t.Fatal("a refused change of one's own role changed the users")
	}
}

// TestRolesLastAdmin: the project's last admin can be neither demoted
// nor deleted through the console: a clear 400 and nothing changed. Only
// an admin reaches the forms, and nobody changes or deletes themself, so
// the guard is met when another server demoted the acting admin less than
// the token cache's 2 s ago (docs/security.md, Web console): here a
// second store handle on the same database is that server, and the
// store's check in the change's own transaction refuses.
func TestRolesLastAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, csrf := e.signIn("alice")
	a, ev := e.users(projA)["alice"], e.users(projA)["eve"]
	// alice alone: she can neither demote nor delete herself, refused as
	// her own row before the last-admin guard (which the stale session
	// below reaches).
	if resp, _ := e.do("POST", fmt.Sprintf("/settings/users/%d/role", ev.ID), url.Values{"role": {"operator"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("demote eve: %s", resp.Status)
	}
	before := e.state()
	for _, tc := range []struct{ path, msg string }{
		{fmt.Sprintf("/settings/users/%d/role", a.ID), "You cannot change your own role"},
		{fmt.Sprintf("/settings/users/%d/delete", a.ID), "You cannot delete yourself"},
	} {
		if resp, body := e.do("POST", tc.path, url.Values{"role": {"viewer"}, "csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, tc.msg) {
			t.Errorf("the only admin, %s on herself: %s, want 400 %q", tc.path, resp.Status, tc.msg)
		}
	}
	if e.state() != before {
		t.Fatal("a refused change of the last admin changed the users")
	}

	other, err := sqlite.Open(ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ada := e.userWithRole("ada", inventory.RoleAdmin)
	adaSession, adaCSRF := e.signIn("ada")
	for _, tc := range []struct{ path, msg string }{
		{fmt.Sprintf("/settings/users/%d/role", a.ID), "User alice is the project&#39;s last admin and stays admin: make another user admin first."},
		{fmt.Sprintf("/settings/users/%d/delete", a.ID), "User alice is the project&#39;s last admin and cannot be deleted: make another user admin first."},
	} {
		// A few tries: on a loaded machine more than the cache's 2 s can
		// pass between the demotion and the form, which then meets the
		// role check (403) instead.
		for try := 0; ; try++ {
			if err := other.SetUserRole(ctx, projA, ada.ID, inventory.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			e.do("GET", "/settings", nil, adaSession) // this server caches ada's token as an admin's
			if err := other.SetUserRole(ctx, projA, ada.ID, inventory.RoleViewer); err != nil {
				t.Fatal(err)
			}
			before := e.state()
			resp, body := e.do("POST", tc.path, url.Values{"role": {"viewer"}, "csrf": {adaCSRF}}, adaSession)
			if resp.StatusCode == http.StatusForbidden && try < 3 {
				continue
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
				t.Errorf("%s on the last admin: %s, want 400 %q\n%s", tc.path, resp.Status, tc.msg, body)
			}
			if after := e.state(); after != before {
				t.Errorf("%s on the last admin changed the project:\n%s\nwas\n%s", tc.path, after, before)
			}
			break
		}
	}
	if got := e.users(projA)["alice"].Role; got != inventory.RoleAdmin {
		t.Fatalf("alice is %s", got)
	}
}
