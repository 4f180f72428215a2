package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
)

// TestTasksPagesAsTheAPI: the Tasks page lists what the API's task list
// answers for the query it shows (ListImageScanTask), with its filters,
// and pages through every task.
func TestTasksPagesAsTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	bob, _ := e.signIn("bob")
	img, err := e.st.GetImage(ctx, projA, e.rows["a1"])
	if err != nil {
		t.Fatal(err)
	}
	item := tasks.ScanItems([]inventory.Image{img})
	var lastID string
	// 23 scan tasks of project A over three days, every fourth one ended
	// (stopped) on its day, every tenth a cycle task named nightly-; three
	// sync tasks; one scan task of project B.
	for i := range 23 {
		kind, name := tasks.Manual, fmt.Sprintf("manual-%02d", i)
		if i%10 == 0 {
			kind, name = tasks.Cycle, fmt.Sprintf("nightly-%02d", i)
		}
		date := fmt.Sprintf("2026-03-%02d", 1+i%3)
		imageType := "registry"
		if i%2 == 1 {
			imageType = "local"
		}
		tk, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: kind, Name: name, ScanScope: tasks.ScanScopeAll,
			ImageType: imageType, BeginTime: day(date, 1)}, item)
		if err != nil {
			t.Fatal(err)
		}
		lastID = tk.ID
		if i%4 == 0 {
			if _, err := e.st.EndTask(ctx, projA, tk.ID, tasks.Stopped, "stopped", day(date, 2)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 3 {
		if _, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Sync, Kind: tasks.ManualSync,
			Name: fmt.Sprintf("sync-%d", i), BeginTime: day("2026-03-01", i)}, []tasks.Item{{RefID: int64(i + 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projB, Type: tasks.Scan, Kind: tasks.Manual, Name: "b-task",
		ScanScope: tasks.ScanScopeAll, BeginTime: day("2026-03-01", 1)}, item); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		table string
		total int64
	}{
		{"", "scan-tasks", 23},
		{"type=image_scan&task_name=&task_status=&task_type=&created_from=&ended_by=", "scan-tasks", 23},
		{"type=image_sync", "sync-tasks", 3},
		{"task_name=nightly", "scan-tasks", 3},
		{"task_status=finished", "scan-tasks", 6},
		{"task_status=scanning", "scan-tasks", 17},
		{"task_type=cycle", "scan-tasks", 3},
		{"created_from=2026-03-02", "scan-tasks", 15},
		{"ended_by=2026-03-01", "scan-tasks", 2},
		{"created_from=2026-03-02&ended_by=2026-03-02&task_status=finished", "scan-tasks", 2},
		{"limit=20&offset=20", "scan-tasks", 23},
		{"global_image_type=local", "scan-tasks", 11},
		{"task_id=" + lastID, "scan-tasks", 1},
	} {
		if _, total := e.checkAgainstAPI(alice, "/tasks?"+tc.query, tc.table); total != tc.total {
			t.Errorf("%q: total %d, want %d", tc.query, total, tc.total)
		}
	}
	// Bob's project has one task; alice's are not his.
	if _, total := e.checkAgainstAPI(bob, "/tasks", "scan-tasks"); total != 1 {
		t.Errorf("bob's total %d, want 1", total)
	}

	// Paging: the Next links visit every task once.
	e.checkPaging(alice, "/tasks?limit=10", "tasks", regexp.MustCompile(`<td><a href="/tasks/([A-Z0-9]+)">`), 23)

	// A refused parameter is the API's message and no list.
	e.checkRefused(alice, "/tasks", `id="scan-tasks"`, map[string]string{
		"task_status=bogus":               "invalid parameter task_status",
		"created_from=March":              "invalid parameter created_from",
		"type=image_sync&task_type=cycle": "invalid parameter task_type",
		"limit=500":                       "invalid parameter limit",
	})
	// As the API, an enterprise project not granted is refused.
	eve, _ := e.signIn("eve")
	if resp, body := e.do("GET", "/tasks?enterprise_project_id=ep2", nil, eve); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "enterprise project") {
		t.Errorf("eve names ep2: %s, want 400", resp.Status)
	}
}

// TestTaskFailedItemsPage: a task's page lists its failed items 100 at a
// time, with a link to the rest.
func TestTaskFailedItemsPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	var items []tasks.Item
	for i := range 105 {
		items = append(items, tasks.Item{RefID: int64(1000 + i), Digest: fmt.Sprintf("sha256:%064x", 1000+i), Namespace: "many",
			ImageName: fmt.Sprintf("img%03d", i), ImageVersion: "1.0"})
	}
	tk, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual, ScanScope: tasks.ScanScopeAll,
		BeginTime: 1}, items)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if _, err := e.st.FinishTaskItems(ctx, tasks.Finish{ProjectID: projA, Type: tasks.Scan, Digest: it.Digest, Reason: "no such image",
			At: 2}); err != nil {
			t.Fatal(err)
		}
	}
	name := regexp.MustCompile(`many/(img\d{3}):1.0`)
	_, body := e.do("GET", "/tasks/"+tk.ID, nil, alice)
	first := name.FindAllStringSubmatch(body, -1)
	m := nextLink.FindStringSubmatch(body)
	if len(first) != 100 || !strings.Contains(body, "Failed images <span class=\"count\">(105)</span>") || m == nil {
		t.Fatalf("first page: %d items, next %v\n%s", len(first), m, body)
	}
	resp, body := e.do("GET", html.UnescapeString(m[1]), nil, alice)
	rest := name.FindAllStringSubmatch(body, -1)
	// The first page's link is the task's own URL, no offset.
	if resp.StatusCode != http.StatusOK || len(rest) != 5 || nextLink.MatchString(body) ||
		!strings.Contains(body, `<a href="/tasks/`+tk.ID+`" rel="prev">`) {
		t.Fatalf("second page %s: %d items\n%s", resp.Status, len(rest), body)
	}
	var all []string
	for _, m := range append(first, rest...) {
		all = append(all, m[1])
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != 105 {
		t.Errorf("the two pages list %d distinct items, want 105", len(all))
	}
	if resp, _ := e.do("GET", "/tasks/"+tk.ID+"?offset=-1", nil, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("offset=-1: %s, want 400", resp.Status)
	}
	// Bob sees no page of alice's task.
	bob, _ := e.signIn("bob")
	if resp, _ := e.do("GET", html.UnescapeString(m[1]), nil, bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob reads alice's task: %s, want 404", resp.Status)
	}
}

// TestRegistriesPagesAsTheAPI: the Registries page lists what the API's
// registry list answers for the query it shows (ListRegistry), with its
// filters, and pages through every connection.
func TestRegistriesPagesAsTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	eve, _ := e.signIn("eve") // only ep1
	bob, _ := e.signIn("bob")
	// 23 connections of project A (three in ep1, every fifth one a Jfrog
	// named jf-, every fourth one synced), two of project B.
	for i := range 23 {
		ep, name := "0", fmt.Sprintf("harbor-%02d", i)
		if i%8 == 0 {
			ep = "ep1"
		}
		reg := e.addStoredRegistry(projA, ep, name, fmt.Sprintf("r%02d.example.com", i), "pw")
		if i%5 == 0 {
			reg.Type, reg.Name = "Jfrog", fmt.Sprintf("jf-%02d", i)
			reg.PasswordSealed = nil
			if _, err := e.st.UpdateRegistry(ctx, reg); err != nil {
				t.Fatal(err)
			}
		}
		if i%4 == 0 {
			if err := e.st.SetRegistryStatus(ctx, reg.ID, inventory.RegistryOK, "", 5); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 2 {
		e.addStoredRegistry(projB, "0", fmt.Sprintf("bob-%d", i), fmt.Sprintf("b%d.example.com", i), "pw")
	}
	for _, tc := range []struct {
		who   *http.Cookie
		query string
		total int64
	}{
		{alice, "", 23},
		{alice, "registry_name=&registry_type=&registry_addr=&status=&limit=", 23},
		{alice, "registry_name=harbor-1", 8},
		{alice, "registry_type=Jfrog", 5},
		{alice, "status=success", 6},
		{alice, "status=accessing", 17},
		{alice, "registry_addr=r2", 3},
		{alice, "limit=20&offset=20", 23},
		{alice, "enterprise_project_id=ep1", 3},
		{eve, "", 3},
		{bob, "", 2},
	} {
		if _, total := e.checkAgainstAPI(tc.who, "/registries?"+tc.query, "registries"); total != tc.total {
			t.Errorf("%q: total %d, want %d", tc.query, total, tc.total)
		}
	}
	e.checkPaging(alice, "/registries?limit=10", "registries", regexp.MustCompile(`<td><a href="/registries/(\d+)">`), 23)
	e.checkRefused(alice, "/registries", `id="registries"`, map[string]string{
		"status=bogus":        "invalid parameter status",
		"registry_type=Quay":  "invalid parameter registry_type",
		"limit=0":             "invalid parameter limit",
		"registry_name=a%00b": "invalid parameter registry_name",
	})
	if resp, _ := e.do("GET", "/registries?enterprise_project_id=0", nil, eve); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("eve names enterprise project 0: %s, want 400", resp.Status)
	}
}

// TestDeleteSelectedRegistries: Delete selected deletes the selected
// connections through BatchDeleteRegistry's store call, all or none: an
// id of another project, of an enterprise project not granted, or unknown
// deletes nothing.
func TestDeleteSelectedRegistries(t *testing.T) {
	e := newEnv(t)
	alice, aliceCSRF := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve") // only ep1
	a1 := e.addStoredRegistry(projA, "0", "a1", "a1.example.com", "pw")
	a2 := e.addStoredRegistry(projA, "0", "a2", "a2.example.com", "pw")
	a3 := e.addStoredRegistry(projA, "ep1", "a3", "a3.example.com", "pw")
	b1 := e.addStoredRegistry(projB, "0", "b1", "b1.example.com", "pw")
	ids := func(regs ...inventory.Registry) []string {
		var out []string
		for _, r := range regs {
			out = append(out, fmt.Sprint(r.ID))
		}
		return out
	}
	beforeA, beforeB := e.registries(projA), e.registries(projB)
	for _, tc := range []struct {
		name   string
		who    *http.Cookie
		form   url.Values
		status int
	}{
		{"no token", alice, url.Values{"id": ids(a1)}, http.StatusForbidden},
		{"a forged token", alice, url.Values{"csrf": {"AAAA"}, "id": ids(a1)}, http.StatusForbidden},
		{"another project's registry among them", alice, url.Values{"csrf": {aliceCSRF}, "id": ids(a1, b1)}, http.StatusNotFound},
		{"an unknown id", alice, url.Values{"csrf": {aliceCSRF}, "id": append(ids(a1), "999999")}, http.StatusNotFound},
		{"not an id", alice, url.Values{"csrf": {aliceCSRF}, "id": append(ids(a1), "1 OR 1=1")}, http.StatusNotFound},
		{"none selected", alice, url.Values{"csrf": {aliceCSRF}}, http.StatusBadRequest},
		{"eve, enterprise project 0", eve, url.Values{"csrf": {eveCSRF}, "id": ids(a3, a1)}, http.StatusNotFound},
	} {
		if resp, _ := e.do("POST", "/registries/delete", tc.form, tc.who); resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d", tc.name, resp.Status, tc.status)
		}
	}
	if a, b := e.registries(projA), e.registries(projB); !reflect.DeepEqual(a, beforeA) || !reflect.DeepEqual(b, beforeB) {
		t.Fatalf("refused deletes changed the registries:\n%+v\n%+v", a, b)
	}
	// The page's form: a checkbox per row the filter lists (a2 only, not
	// a1 or a3) and the filtered list to return to.
	_, body := e.do("GET", "/registries?registry_name=a2", nil, alice)
	var checked []string
	for _, m := range regexp.MustCompile(`<input type="checkbox" name="id" value="(\d+)" form="delete-registries">`).FindAllStringSubmatch(body, -1) {
		checked = append(checked, m[1])
	}
	if !slices.Equal(checked, ids(a2)) {
		t.Errorf("registry_name=a2: checkboxes of %v, want a2's %v", checked, ids(a2))
	}
	if want := `<input type="hidden" name="back" value="/registries?enterprise_project_id=all_granted_eps&amp;registry_name=a2">`; !strings.Contains(body, want) {
		t.Errorf("the delete form lacks %s", want)
	}
	resp, _ := e.do("POST", "/registries/delete", url.Values{"csrf": {aliceCSRF}, "id": ids(a1, a3),
		"back": {"/registries?enterprise_project_id=all_granted_eps&registry_name=a&offset=10"}}, alice)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "/registries?done=deleted-selected&enterprise_project_id=all_granted_eps&registry_name=a" {
		t.Fatalf("delete a1 and a3: %s to %q", resp.Status, loc)
	}
	// The list it returns to says so; its query (the API's, and where the
	// next delete returns) leaves the page's done message out.
	body, _ = e.checkAgainstAPI(alice, loc, "registries")
	if want := `<input type="hidden" name="back" value="/registries?enterprise_project_id=all_granted_eps&amp;registry_name=a">`; !strings.Contains(body, want) ||
		!strings.Contains(body, "The selected registries were deleted.") {
		t.Errorf("%s: no done message, or the delete form lacks %s", loc, want)
	}
	if a := e.registries(projA); len(a) != 1 || a[0].ID != a2.ID {
		t.Errorf("after deleting a1 and a3: %+v, want a2 only", a)
	}
	if b := e.registries(projB); !reflect.DeepEqual(b, beforeB) {
		t.Errorf("bob's registries changed: %+v", b)
	}
	// Eve deletes in her enterprise project; the form returns only to
	// the list.
	a4 := e.addStoredRegistry(projA, "ep1", "a4", "a4.example.com", "pw")
	resp, _ = e.do("POST", "/registries/delete", url.Values{"csrf": {eveCSRF}, "id": ids(a4), "back": {"https://evil.example/registries"}}, eve)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/registries?done=deleted-selected" {
		t.Errorf("eve deletes a4: %s to %q", resp.Status, loc)
	}
	if a := e.registries(projA); len(a) != 1 || a[0].ID != a2.ID {
		t.Errorf("after eve's delete: %+v, want a2 only", a)
	}
}

// TestSyncTaskRegistries: a sync task's page lists its connections with
// their sync status and reason, filtered by sync_status as the API's
// ListAssociateRegistries, with the same totals.
func TestSyncTaskRegistries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	var items []tasks.Item
	for i := 1; i <= 4; i++ {
		items = append(items, tasks.Item{RefID: int64(i), RegistryID: int64(i), RegistryName: fmt.Sprintf("reg-%d", i), RegistryType: "Harbor"})
	}
	tk, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Sync, Kind: tasks.ManualSync, Name: "sync", BeginTime: 1}, items)
	if err != nil {
		t.Fatal(err)
	}
	for ref, ok := range map[int64]bool{1: true, 2: false} {
		if _, err := e.st.FinishTaskItems(ctx, tasks.Finish{ProjectID: projA, Type: tasks.Sync, RefID: ref, OK: ok,
			Reason: "registry answered 401 Unauthorized", At: 2}); err != nil {
			t.Fatal(err)
		}
	}
	for status, want := range map[string]int64{"": 4, "finished": 1, "running": 2, "failed": 1} {
		page := "/tasks/" + tk.ID
		api := "/v5/" + projA + "/image/image-sync/tasks/" + tk.ID + "/registries"
		if status != "" {
			page += "?sync_status=" + status
			api += "?sync_status=" + status
		}
		_, body := e.do("GET", page, nil, alice)
		apiTotal, apiRows := e.apiTotal(alice, api)
		if n := rowCount(body, "task-registries"); apiTotal != want || int64(n) != want || apiRows != n ||
			!strings.Contains(body, fmt.Sprintf(`Registries <span class="count">(%d)</span>`, want)) {
			t.Errorf("%s: %d rows, API total %d and %d rows, want %d\n%s", page, n, apiTotal, apiRows, want, body)
		}
		if status == "failed" && (!strings.Contains(body, "registry answered 401 Unauthorized") || !strings.Contains(body, "reg-2")) {
			t.Errorf("the failed connection without its reason:\n%s", body)
		}
	}
	if resp, _ := e.do("GET", "/tasks/"+tk.ID+"?sync_status=bogus", nil, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("sync_status=bogus: %s, want 400", resp.Status)
	}
	_, body := e.do("GET", "/tasks?type=image_sync", nil, alice)
	if !strings.Contains(body, `<a href="/tasks/`+tk.ID+`?sync_status=failed">failed items</a>`) {
		t.Errorf("the sync task's row has no link to its failed connections:\n%s", body)
	}
}
