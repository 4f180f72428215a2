package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
)

// registries returns the project's stored connections.
func (e *env) registries(project string) []inventory.Registry {
	e.t.Helper()
	regs, _, err := e.st.ListRegistries(context.Background(), inventory.RegistryFilter{ProjectID: project, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return regs
}

// addStoredRegistry stores a connection as the API would.
func (e *env) addStoredRegistry(project, ep, name, addr, password string) inventory.Registry {
	e.t.Helper()
	sealed, err := e.box.Seal(password)
	if err != nil {
		e.t.Fatal(err)
	}
	reg, err := e.st.CreateRegistry(context.Background(), inventory.Registry{ProjectID: project, EnterpriseProjectID: ep, Name: name,
		Type: "Harbor", APIVersion: "V2", Protocol: "https", Addr: addr, Username: "robot", PasswordSealed: sealed,
		Status: inventory.RegistryPending, CreatedAt: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return reg
}

// startScanTask starts a running scan task of project over one row.
func (e *env) startScanTask(project string, row int64) tasks.Task {
	e.t.Helper()
	img, err := e.st.GetImage(context.Background(), project, row)
	if err != nil {
		e.t.Fatal(err)
	}
	t, err := e.starter.Start(context.Background(), tasks.Task{ProjectID: project, Type: tasks.Scan, Kind: tasks.Manual,
		ScanScope: tasks.ScanScopeAll}, tasks.ScanItems([]inventory.Image{img}), func(tasks.Task) error { return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) task(project, id string) tasks.Task {
	e.t.Helper()
	t, err := e.st.GetTask(context.Background(), project, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func TestAddRegistry(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	form := func(mod func(url.Values)) url.Values {
		f := url.Values{"csrf": {csrf}, "registry_name": {"harbor"}, "registry_type": {"Harbor"}, "protocol": {"https"},
			"registry_addr": {"Registry.Example.com"}, "namespace": {"team"}, "registry_username": {"robot"},
			"registry_password": {"s3cret-pass"}}
		mod(f)
		return f
	}
	// Refusals store nothing and say why, as the API's AddRegistry.
	for name, tc := range map[string]struct {
		mod  func(url.Values)
		want string
	}{
		"loopback (network policy)": {func(f url.Values) { f.Set("registry_addr", "127.0.0.1:5000") }, "network policy"},
		"metadata address":          {func(f url.Values) { f.Set("registry_addr", "169.254.169.254") }, "network policy"},
		"bad namespace":             {func(f url.Values) { f.Set("namespace", "Team/") }, "invalid parameter namespace"},
		"no name":                   {func(f url.Values) { f.Set("registry_name", "") }, "invalid parameter registry_name"},
		"bad type":                  {func(f url.Values) { f.Set("registry_type", "Docker") }, "invalid parameter registry_type"},
		"bad protocol":              {func(f url.Values) { f.Set("protocol", "ftp") }, "invalid parameter protocol"},
		"control in password":       {func(f url.Values) { f.Set("registry_password", "a\x00b") }, "invalid parameter registry_password"},
	} {
		resp, body := e.do("POST", "/registries/add", form(tc.mod), alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %s, want 400 with %q\n%.400s", name, resp.Status, tc.want, body)
		}
		if regs := e.registries(projA); len(regs) != 0 {
			t.Fatalf("%s: a refused form stored %+v", name, regs)
		}
	}
	resp, body := e.do("POST", "/registries/add", form(func(url.Values) {}), alice)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %s\n%s", resp.Status, body)
	}
	regs := e.registries(projA)
	if len(regs) != 1 {
		t.Fatalf("stored %d registries, want 1", len(regs))
	}
	reg, err := e.st.GetRegistry(context.Background(), projA, regs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// The address canonicalized as the API stores it; the password sealed
	// by the server's box and nowhere in clear.
	if reg.Addr != "registry.example.com" || reg.Namespace != "team" || reg.Username != "robot" || reg.EnterpriseProjectID != "0" {
		t.Errorf("stored %+v", reg)
	}
	if strings.Contains(string(reg.PasswordSealed), "s3cret-pass") {
		t.Errorf("the password is stored in clear")
	}
	if got, err := e.box.Open(reg.PasswordSealed); err != nil || got != "s3cret-pass" {
		t.Errorf("sealed password opens to %q, %v", got, err)
	}
	_, body = e.do("GET", "/registries", nil, alice)
	if !strings.Contains(body, `id="registry-total">1<`) || !strings.Contains(body, "https://registry.example.com") ||
		strings.Contains(body, "s3cret-pass") || !strings.Contains(body, ">accessing<") {
		t.Errorf("the list does not show the new registry as the API would:\n%s", body)
	}
	// The same address and namespace again is a conflict, stored once.
	if resp, _ := e.do("POST", "/registries/add", form(func(url.Values) {}), alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a duplicate: %s, want 400", resp.Status)
	}
	if n := len(e.registries(projA)); n != 1 {
		t.Errorf("a duplicate stored: %d registries", n)
	}
}

func TestEditRegistryPassword(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	reg := e.addStoredRegistry(projA, "0", "harbor", "registry.example.com", "old-pass")
	path := fmt.Sprintf("/registries/%d/edit", reg.ID)
	edit := func(addr, password string) {
		t.Helper()
		resp, body := e.do("POST", path, url.Values{"csrf": {csrf}, "protocol": {"https"}, "registry_addr": {addr},
			"namespace": {""}, "registry_username": {"robot"}, "registry_password": {password}}, alice)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit %s: %s\n%s", addr, resp.Status, body)
		}
	}
	password := func() string {
		t.Helper()
		got, err := e.st.GetRegistry(context.Background(), projA, reg.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.box.Open(got.PasswordSealed)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	edit("registry.example.com", "")
	if p := password(); p != "old-pass" {
		t.Errorf("an empty password field on the same target: stored %q, want the old one kept", p)
	}
	edit("registry.example.com", "new-pass")
	if p := password(); p != "new-pass" {
		t.Errorf("a new password: stored %q", p)
	}
	// Another target without a password: the stored one, given for the
	// old target, is cleared rather than sent elsewhere.
	edit("other.example.com", "")
	if p := password(); p != "" {
		t.Errorf("moved to another address: the old password %q is kept", p)
	}
	// The network policy applies to edits too, and nothing changes.
	resp, _ := e.do("POST", path, url.Values{"csrf": {csrf}, "protocol": {"https"}, "registry_addr": {"127.0.0.1:5000"},
		"registry_username": {"robot"}}, alice)
	got, _ := e.st.GetRegistry(context.Background(), projA, reg.ID)
	if resp.StatusCode != http.StatusBadRequest || got.Addr != "other.example.com" {
		t.Errorf("edit to 127.0.0.1:5000: %s, stored address %s", resp.Status, got.Addr)
	}
}

// TestNewFormsNeedCSRF: every new form refuses a post without the
// session's token with 403 and changes nothing.
func TestNewFormsNeedCSRF(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.signIn("alice")
	_, bobCSRF := e.signIn("bob")
	reg := e.addStoredRegistry(projA, "0", "harbor", "registry.example.com", "pass")
	task := e.startScanTask(projA, e.rows["a1"])
	before := e.registries(projA)
	addForm := url.Values{"registry_name": {"x"}, "registry_type": {"Harbor"}, "protocol": {"https"}, "registry_addr": {"x.example.com"},
		"id": {fmt.Sprint(reg.ID)}}
	e.checkCSRFRefused(alice, bobCSRF, addForm, "/registries/add", "/registries/delete", fmt.Sprintf("/registries/%d/edit", reg.ID),
		fmt.Sprintf("/registries/%d/delete", reg.ID), fmt.Sprintf("/registries/%d/test", reg.ID), fmt.Sprintf("/registries/%d/sync", reg.ID),
		"/tasks/"+task.ID+"/stop")
	if after := e.registries(projA); !reflect.DeepEqual(before, after) {
		t.Errorf("refused forms changed the registries:\n%+v\n%+v", before, after)
	}
	if got := e.task(projA, task.ID); got.Ended() {
		t.Errorf("a refused stop ended the task: %+v", got)
	}
	if ts, _, _ := e.st.ListTasks(context.Background(), tasks.Filter{ProjectID: projA, Type: tasks.Sync, Limit: 10}); len(ts) != 0 || len(e.syncs.all()) != 0 {
		t.Errorf("a refused sync started %d sync tasks, %d syncs", len(ts), len(e.syncs.all()))
	}
}

// TestNewPagesKeepProjects: another project's (or a not granted
// enterprise project's) registry, task or image answers 404 on every new
// page and action, and nothing changes.
func TestNewPagesKeepProjects(t *testing.T) {
	e := newEnv(t)
	alice, aliceCSRF := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve") // project A, only ep1
	bobReg := e.addStoredRegistry(projB, "0", "bob-harbor", "bob.example.com", "bob-pass")
	aliceReg := e.addStoredRegistry(projA, "0", "alice-harbor", "alice.example.com", "alice-pass")
	bobTask := e.startScanTask(projB, e.rows["b1"])
	for _, tc := range []struct {
		who    string
		cookie *http.Cookie
		csrf   string
		reg    int64
		image  int64
	}{
		{"alice, bob's registry", alice, aliceCSRF, bobReg.ID, e.rows["b1"]},
		{"eve, enterprise project 0", eve, eveCSRF, aliceReg.ID, e.rows["a1"]},
	} {
		for _, p := range []string{fmt.Sprintf("/registries/%d", tc.reg), fmt.Sprintf("/images/%d?tab=packages", tc.image),
			fmt.Sprintf("/images/%d?tab=sensitive", tc.image), fmt.Sprintf("/images/%d?tab=passwords", tc.image),
			fmt.Sprintf("/images/%d?tab=layers", tc.image), fmt.Sprintf("/images/%d?tab=history", tc.image),
			fmt.Sprintf("/images/%d?severity=high&fixable=yes", tc.image),
			fmt.Sprintf("/images/%d/sbom", tc.image), fmt.Sprintf("/images/%d/sbom?format=spdx", tc.image), "/tasks/" + bobTask.ID} {
			resp, body := e.do("GET", p, nil, tc.cookie)
			if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "harbor") || strings.Contains(body, "b-secret") {
				t.Errorf("%s: GET %s: %s, want 404\n%.300s", tc.who, p, resp.Status, body)
			}
			checkHeaders(t, p, resp)
		}
		for _, action := range []string{"edit", "delete", "test", "sync"} {
			p := fmt.Sprintf("/registries/%d/%s", tc.reg, action)
			resp, _ := e.do("POST", p, url.Values{"csrf": {tc.csrf}, "protocol": {"https"}, "registry_addr": {"evil.example.com"}}, tc.cookie)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: POST %s: %s, want 404", tc.who, p, resp.Status)
			}
		}
		resp, _ := e.do("POST", "/tasks/"+bobTask.ID+"/stop", url.Values{"csrf": {tc.csrf}}, tc.cookie)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: stop bob's task: %s, want 404", tc.who, resp.Status)
		}
	}
	// Nothing changed: both connections as stored, bob's task running, no
	// sync asked for.
	for _, want := range []inventory.Registry{bobReg, aliceReg} {
		got, err := e.st.GetRegistry(context.Background(), want.ProjectID, want.ID)
		if err != nil || got.Addr != want.Addr {
			t.Errorf("registry %d: %+v, %v", want.ID, got, err)
		}
	}
	if got := e.task(projB, bobTask.ID); got.Ended() {
		t.Errorf("bob's task was stopped from another project")
	}
	if n := len(e.syncs.all()); n != 0 {
		t.Errorf("%d syncs queued from another project's registry", n)
	}
	// Alice's list shows her connection only; eve's shows none.
	if _, body := e.do("GET", "/registries", nil, alice); !strings.Contains(body, "alice-harbor") || strings.Contains(body, "bob-harbor") {
		t.Errorf("alice's registries page:\n%s", body)
	}
	if _, body := e.do("GET", "/registries", nil, eve); strings.Contains(body, "harbor") {
		t.Errorf("eve's registries page shows a connection of an enterprise project she is not granted")
	}
}

func TestStopScanTaskAndSync(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	task := e.startScanTask(projA, e.rows["a1"])
	_, body := e.do("GET", "/tasks", nil, alice)
	if !strings.Contains(body, `action="/tasks/`+task.ID+`/stop"`) {
		t.Fatalf("the Tasks page has no Stop button for the running scan task:\n%s", body)
	}
	resp, _ := e.do("POST", "/tasks/"+task.ID+"/stop", url.Values{"csrf": {csrf}}, alice)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %s", resp.Status)
	}
	if got := e.task(projA, task.ID); got.State != tasks.Stopped || got.Status() != -1 {
		t.Errorf("stopped task: %+v", got)
	}
	if got := e.scans.cancelled; len(got) != 1 {
		t.Errorf("cancelled scans %v, want the task's one digest", got)
	}
	// Stopping again changes nothing and says so.
	if resp, _ := e.do("POST", "/tasks/"+task.ID+"/stop", url.Values{"csrf": {csrf}}, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("stop an ended task: %s, want 400", resp.Status)
	}
	reg := e.addStoredRegistry(projA, "0", "harbor", "registry.example.com", "pass")
	if resp, _ := e.do("POST", fmt.Sprintf("/registries/%d/sync", reg.ID), url.Values{"csrf": {csrf}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync now: %s", resp.Status)
	}
	ts, _, err := e.st.ListTasks(context.Background(), tasks.Filter{ProjectID: projA, Type: tasks.Sync, Limit: 10})
	if err != nil || len(ts) != 1 || ts[0].Kind != tasks.ManualSync || ts[0].TotalNum != 1 {
		t.Errorf("sync tasks %+v, %v; want one manualSync task over the registry", ts, err)
	}
	if got := e.syncs.all(); !reflect.DeepEqual(got, []inventory.ImageType{inventory.PrivateImage}) {
		t.Errorf("syncs queued %v", got)
	}
}

// TestTaskFailedImages: a task's page lists its failed images with their
// reasons, and only the failed ones.
func TestTaskFailedImages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	var rows []inventory.Image
	for _, k := range []string{"a1", "a2"} {
		img, err := e.st.GetImage(ctx, projA, e.rows[k])
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, img)
	}
	task, err := e.starter.Start(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual, ScanScope: tasks.ScanScopeAll},
		tasks.ScanItems(rows), func(tasks.Task) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range []bool{false, true} {
		if _, err := e.st.FinishTaskItems(ctx, tasks.Finish{ProjectID: projA, Type: tasks.Scan, Digest: rows[i].Digest, OK: ok,
			Reason: "download_failed: manifest unknown", At: 2}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.do("GET", "/tasks/"+task.ID, nil, alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("task page: %s", resp.Status)
	}
	checkHeaders(t, "/tasks/"+task.ID, resp)
	if !strings.Contains(body, "team/web:1.0") || !strings.Contains(body, "download_failed: manifest unknown") ||
		strings.Contains(body, "team/api:1.0") || !strings.Contains(body, "Failed images <span class=\"count\">(1)</span>") {
		t.Errorf("task page does not list exactly the failed image with its reason:\n%s", body)
	}
	if _, body := e.do("GET", "/tasks", nil, alice); !strings.Contains(body, `<a href="/tasks/`+task.ID+`">failed items</a>`) {
		t.Errorf("the Tasks page has no link to the failed items")
	}
}

// TestAddRegistryEnterpriseProject: a connection is added to one
// enterprise project the user is granted, as the API's AddRegistry.
func TestAddRegistryEnterpriseProject(t *testing.T) {
	e := newEnv(t)
	eve, csrf := e.signIn("eve") // project A, only ep1
	form := func(ep string) url.Values {
		return url.Values{"csrf": {csrf}, "registry_name": {"r-" + ep}, "registry_type": {"Harbor"}, "protocol": {"https"},
			"registry_addr": {"registry.example.com"}, "namespace": {"ns" + strings.ToLower(strings.ReplaceAll(ep, "_", ""))},
			"enterprise_project_id": {ep}}
	}
	for _, ep := range []string{"", "0", "all_granted_eps", "ep2"} {
		if resp, _ := e.do("POST", "/registries/add", form(ep), eve); resp.StatusCode != http.StatusForbidden {
			t.Errorf("eve adds to enterprise project %q: %s, want 403", ep, resp.Status)
		}
	}
	if regs := e.registries(projA); len(regs) != 0 {
		t.Fatalf("refused adds stored %+v", regs)
	}
	if resp, body := e.do("POST", "/registries/add", form("ep1"), eve); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("eve adds to ep1: %s\n%s", resp.Status, body)
	}
	if regs := e.registries(projA); len(regs) != 1 || regs[0].EnterpriseProjectID != "ep1" {
		t.Errorf("stored %+v, want one registry in ep1", regs)
	}
	// Granted all, a user still names one enterprise project:
	// all_granted_eps is no enterprise project to store a connection in.
	alice, aliceCSRF := e.signIn("alice")
	f := form("all_granted_eps")
	f.Set("csrf", aliceCSRF)
	if resp, _ := e.do("POST", "/registries/add", f, alice); resp.StatusCode != http.StatusForbidden {
		t.Errorf("alice adds to all_granted_eps: %s, want 403", resp.Status)
	}
	if regs := e.registries(projA); len(regs) != 1 {
		t.Errorf("the refused add stored a registry: %+v", regs)
	}
}
