package hssapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
)

// routesState renders what the task, registry and whitelist routes could
// change: the image rows and connections (snapshot), every task with its
// items, and both projects' sensitive-path whitelists.
func routesState(t *testing.T, e *testEnv) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(e.snapshot(t))
	b.WriteString(taskState(t, e))
	for _, p := range []string{projA, projB} {
		wl, err := e.store.SensitivePathWhitelist(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s whitelist %q\n", p, wl)
	}
	return b.String()
}

// TestNewRoutesBadInput sends refused requests to the task, registry
// helper and whitelist routes, beyond the cases of TestTaskRoutesBadInput,
// TestCreateAndStopScanTask, TestListRegistryImagesBadInput,
// TestBatchDeleteRegistryRefused and TestFilePathWhitelistBadInput: each
// gets its status and HSS code, and the rows, connections, tasks and
// whitelists are exactly as before, with no job queued.
func TestNewRoutesBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v5 := "/v5/" + projA + "/image/"

	// A running scan task and a finished one (no items: finished at once)
	// of A, a sync task of A, and a running scan task of B.
	rows := scannableRows(t, e)
	running, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual, Name: "running",
		ImageType: "registry", BeginTime: base, ScanScope: 0x7fffffff}, tasks.ScanItems(rows[:1]))
	if err != nil {
		t.Fatal(err)
	}
	finished, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual, Name: "finished",
		ImageType: "registry", BeginTime: base}, nil)
	if err != nil || !finished.Ended() || finished.Status() != 100 {
		t.Fatalf("finished task: %+v, %v", finished, err)
	}
	syncTask, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Sync, Kind: tasks.ManualSync, Name: "sync",
		ImageType: "registry", BeginTime: base}, []tasks.Item{{RefID: e.regs["r1"].ID, RegistryID: e.regs["r1"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projB, Type: tasks.Scan, Kind: tasks.Manual, Name: "b",
		ImageType: "registry", BeginTime: base}, []tasks.Item{{RefID: 1, Digest: "sha256:b"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetSensitivePathWhitelist(ctx, projA, []string{"/kept/one", "/kept/*.pem"}); err != nil {
		t.Fatal(err)
	}
	local, err := e.store.ListImages(ctx, inventory.Filter{ProjectID: projA, Type: inventory.LocalImage, Limit: 10})
	if err != nil || len(local.Images) != 1 {
		t.Fatalf("local image: %+v, %v", local, err)
	}
	localID := itoa(local.Images[0].ID)
	rowA := itoa(rows[0].ID)

	images := func(q string) reqSpec { return reqSpec{Target: v5 + "registries/images?" + q} }
	list := func(q string) reqSpec { return reqSpec{Target: v5 + "tasks?type=image_scan&" + q} }
	scan := func(body string) reqSpec {
		return reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(body)}
	}
	syncReq := func(body string) reqSpec {
		return reqSpec{Method: http.MethodPost, Target: v5 + "image-sync/tasks", Body: []byte(body)}
	}
	assoc := func(q string) reqSpec {
		return reqSpec{Target: v5 + "image-sync/tasks/" + syncTask.ID + "/registries?" + q}
	}
	stop := func(id, q string) reqSpec {
		return reqSpec{Method: http.MethodPut, Target: v5 + "image-scan/tasks/" + id + "/stop" + q}
	}
	del := func(body string) reqSpec {
		return reqSpec{Method: http.MethodPost, Target: v5 + "registries/batch-delete", Body: []byte(body)}
	}
	wl := func(route, body string) reqSpec {
		return reqSpec{Method: http.MethodPost, Target: v5 + "sensitive/" + route, Body: []byte(body)}
	}
	tooManyImages := make([]string, 1001)
	for i := range tooManyImages {
		tooManyImages[i] = fmt.Sprintf(`{"id":%d}`, i+1)
	}
	tooManyRegs := make([]string, 201)
	for i := range tooManyRegs {
		tooManyRegs[i] = fmt.Sprintf(`{"registry_id":"%d"}`, i+1)
	}
	withEP := func(r reqSpec) reqSpec { r.AK, r.SK = e.akEP, e.skEP; return r }

	cases := []struct {
		name   string
		req    reqSpec
		status int
		code   string
	}{
		// GET /image/registries/images (ListRegistryImages).
		{"images: limit not a number", images("limit=ten"), 400, "HSS.0001"},
		{"images: offset not a number", images("offset=abc"), 400, "HSS.0001"},
		{"images: sort_key twice", images("sort_key=latest_scan_time&sort_key=latest_scan_time"), 400, "HSS.0001"},
		{"images: sync time not a number", images("start_latest_sync_time=yesterday"), 400, "HSS.0001"},
		{"images: has_malicious_file 1", images("has_malicious_file=1"), 400, "HSS.0001"},
		{"images: malformed enterprise project", images("enterprise_project_id=a%20b"), 400, "HSS.0001"},
		{"images: enterprise project not granted", withEP(images("enterprise_project_id=ep2")), 403, "HSS.0013"},

		// GET /image/tasks (ListImageScanTask).
		{"tasks: scan_scope negative", list("scan_scope=-1"), 400, "HSS.0001"},
		{"tasks: scan_scope not a number", list("scan_scope=all"), 400, "HSS.0001"},
		{"tasks: scan_scope in hex", list("scan_scope=0x7fffffff"), 400, "HSS.0001"},
		{"tasks: create_time negative", list("create_time=-1"), 400, "HSS.0001"},
		{"tasks: end_time beyond the last", list("end_time=4070880000001"), 400, "HSS.0001"},
		{"tasks: task_name too long", list("task_name=" + strings.Repeat("n", 257)), 400, "HSS.0001"},
		{"tasks: task_id too long", list("task_id=" + strings.Repeat("i", 257)), 400, "HSS.0001"},
		{"tasks: task_status in capitals", list("task_status=FINISHED"), 400, "HSS.0001"},
		{"tasks: limit not a number", list("limit=ten"), 400, "HSS.0001"},

		// POST /image/image-scan/tasks (CreateManualImageScanTask).
		{"scan: scan_scope negative", scan(`{"scan_scope":-1,"image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0001"},
		{"scan: scan_scope above 0x7fffffff", scan(`{"scan_scope":2147483648,"image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0001"},
		{"scan: scan_scope a string", scan(`{"scan_scope":"983040","image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0002"},
		{"scan: scan_scope a fraction", scan(`{"scan_scope":1.5,"image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0002"},
		{"scan: rate_limit -1", scan(`{"rate_limit":-1,"image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0001"},
		{"scan: rate_limit a string", scan(`{"rate_limit":"fast","image_info":[{"id":` + rowA + `}]}`), 400, "HSS.0002"},
		{"scan: empty image_info with is_all false", scan(`{"is_all":false,"image_info":[]}`), 400, "HSS.0001"},
		{"scan: image id 0", scan(`{"image_info":[{"id":0}]}`), 400, "HSS.0001"},
		{"scan: image id negative", scan(`{"image_info":[{"id":-5}]}`), 400, "HSS.0001"},
		{"scan: image id a string", scan(`{"image_info":[{"id":"` + rowA + `"}]}`), 400, "HSS.0002"},
		{"scan: a local image's id", scan(`{"image_info":[{"id":` + localID + `}]}`), 404, "HSS.0011"},
		{"scan: an image outside the named enterprise project", withEP(reqSpec{Method: http.MethodPost,
			Target: v5 + "image-scan/tasks?enterprise_project_id=ep1", Body: []byte(`{"image_info":[{"id":` + rowA + `}]}`)}), 404, "HSS.0011"},
		{"scan: too many images", scan(`{"image_info":[` + strings.Join(tooManyImages, ",") + `]}`), 400, "HSS.0001"},
		{"scan: global_image_type unknown", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks?global_image_type=cloud",
			Body: []byte(`{"image_info":[{"id":` + rowA + `}]}`)}, 400, "HSS.0001"},
		{"scan: is_all with an unknown scan_status", scan(`{"is_all":true,"query_info":{"image_type":"private_image","scan_status":"done"}}`), 400, "HSS.0001"},
		{"scan: is_all with update times reversed", scan(`{"is_all":true,"query_info":{"image_type":"private_image",` +
			`"start_latest_update_time":200,"end_latest_update_time":100}}`), 400, "HSS.0001"},
		{"scan: is_all with scan times reversed", scan(`{"is_all":true,"query_info":{"image_type":"private_image",` +
			`"start_latest_scan_time":200,"end_latest_scan_time":100}}`), 400, "HSS.0001"},
		{"batch-scan (deprecated): operate_all with update times reversed", reqSpec{Method: http.MethodPost, Target: v5 + "batch-scan",
			Body: []byte(`{"image_type":"private_image","operate_all":true,"start_latest_update_time":200,"end_latest_update_time":100}`)}, 400, "HSS.0001"},
		{"scan: truncated JSON", scan(`{"image_info":[{"id":` + rowA), 400, "HSS.0002"},
		{"scan: JSON array", scan(`[{"id":` + rowA + `}]`), 400, "HSS.0002"},

		// POST /image/image-sync/tasks (CreateImageSynchronizeTask).
		{"sync: registry_info empty", syncReq(`{"sync_all_registries":false,"registry_info":[]}`), 400, "HSS.0001"},
		{"sync: sync_all_registries null", syncReq(`{"sync_all_registries":null}`), 400, "HSS.0001"},
		{"sync: registry id 0", syncReq(`{"sync_all_registries":false,"registry_info":[{"registry_id":"0"}]}`), 400, "HSS.0001"},
		{"sync: registry id negative", syncReq(`{"sync_all_registries":false,"registry_info":[{"registry_id":"-1"}]}`), 400, "HSS.0001"},
		{"sync: registry id empty", syncReq(`{"sync_all_registries":false,"registry_info":[{"registry_id":""}]}`), 400, "HSS.0001"},
		{"sync: registry id a number", syncReq(`{"sync_all_registries":false,"registry_info":[{"registry_id":` + itoa(e.regs["r1"].ID) + `}]}`), 400, "HSS.0002"},
		{"sync: too many registries", syncReq(`{"sync_all_registries":false,"registry_info":[` + strings.Join(tooManyRegs, ",") + `]}`), 400, "HSS.0001"},
		{"sync: trailing data", syncReq(`{"sync_all_registries":true}{}`), 400, "HSS.0002"},

		// GET /image/image-sync/tasks/{task_id}/registries (ListAssociateRegistries).
		{"registries: limit 201", assoc("limit=201"), 400, "HSS.0001"},
		{"registries: offset negative", assoc("offset=-1"), 400, "HSS.0001"},
		{"registries: offset beyond the last", assoc("offset=2000001"), 400, "HSS.0001"},
		{"registries: registry_name too long", assoc("registry_name=" + strings.Repeat("r", 129)), 400, "HSS.0001"},
		{"registries: sync_status twice", assoc("sync_status=failed&sync_status=running"), 400, "HSS.0001"},
		{"registries: enterprise project not granted", withEP(assoc("enterprise_project_id=ep2")), 403, "HSS.0013"},

		// PUT /image/image-scan/tasks/{task_id}/stop (StopImageScanTask).
		{"stop: a finished task", stop(finished.ID, ""), 400, "HSS.0001"},
		{"stop: a sync task", stop(syncTask.ID, ""), 404, "HSS.0011"},
		{"stop: task id too long", stop(strings.Repeat("t", 65), ""), 400, "HSS.0001"},
		{"stop: malformed enterprise project", stop(running.ID, "?enterprise_project_id=a%20b"), 400, "HSS.0001"},
		{"stop: POST instead of PUT", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks/" + running.ID + "/stop"}, 404, "HSS.0011"},

		// GET /image/registries/statistics.
		{"statistics: enterprise project not granted", withEP(reqSpec{Target: v5 + "registries/statistics?enterprise_project_id=ep2"}), 403, "HSS.0013"},
		{"statistics: empty type between two", reqSpec{Target: v5 + "registries/statistics?registry_type=Harbor,,Jfrog"}, 400, "HSS.0001"},

		// POST /image/registries/batch-delete.
		{"batch-delete: trailing data", del(`{"ids":["` + itoa(e.regs["r1"].ID) + `"]}[]`), 400, "HSS.0002"},
		{"batch-delete: id with a space", del(`{"ids":[" ` + itoa(e.regs["r1"].ID) + `"]}`), 400, "HSS.0001"},
		{"batch-delete: id with a plus sign", del(`{"ids":["+` + itoa(e.regs["r1"].ID) + `"]}`), 400, "HSS.0001"},
		{"batch-delete: unknown id first", del(`{"ids":["999999","` + itoa(e.regs["r1"].ID) + `"]}`), 404, "HSS.0011"},

		// GET and POST /image/sensitive/filepath-whitelist, and the
		// deprecated filepath_whitelist pair.
		{"whitelist: deprecated route, bad glob", wl("filepath_whitelist", `{"customized_path":["/srv/[a-"]}`), 400, "HSS.0001"},
		{"whitelist: deprecated route, too long", wl("filepath_whitelist", `{"customized_path":["/`+strings.Repeat("a", 1024)+`"]}`), 400, "HSS.0001"},
		{"whitelist: deprecated route, not JSON", wl("filepath_whitelist", `customized_path=/srv`), 400, "HSS.0002"},
		{"whitelist: relative glob", wl("filepath-whitelist", `{"customized_path":["*.pem"]}`), 400, "HSS.0001"},
		{"whitelist: one bad entry among good ones", wl("filepath-whitelist", `{"customized_path":["/ok/one","/ok/../two"]}`), 400, "HSS.0001"},
		{"whitelist: GET with the enterprise project twice", reqSpec{Target: v5 + "sensitive/filepath-whitelist?enterprise_project_id=0&enterprise_project_id=0"}, 400, "HSS.0001"},
		{"whitelist: deprecated GET with the enterprise project twice", reqSpec{Target: v5 + "sensitive/filepath_whitelist?enterprise_project_id=0&enterprise_project_id=0"}, 400, "HSS.0001"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	before := routesState(t, e)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.req), tc.status, tc.code)
			if after := routesState(t, e); after != before {
				t.Fatalf("state changed:\n%s", lineDiff(before, after))
			}
		})
	}
	if queuedJobs(t, e) {
		t.Fatal("a refused request queued a job")
	}
}

// lineDiff lists the lines of after not in before and of before not in
// after.
func lineDiff(before, after string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var out strings.Builder
	for _, l := range strings.Split(before, "\n") {
		if !a[l] {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(after, "\n") {
		if !b[l] {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}
