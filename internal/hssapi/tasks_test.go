package hssapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/tasks"
)

// taskState is what a task route may change: every task of both projects
// and whether a sync or scan job is queued.
func taskState(t *testing.T, e *testEnv) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, p := range []string{projA, projB} {
		for _, ty := range []tasks.Type{tasks.Sync, tasks.Scan} {
			list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: p, Type: ty, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range list {
				items, _, err := e.store.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: p, TaskID: tk.ID, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString(tk.ID + " " + string(tk.State) + " " + tk.Name)
				for _, it := range items {
					b.WriteString(" " + it.State)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// queuedJobs reports whether a sync or scan job is queued (reading it
// takes it: call it last).
func queuedJobs(t *testing.T, e *testEnv) bool {
	t.Helper()
	_, err := e.store.Claim(context.Background(), []string{registry.JobKind, scanjob.JobKind, scanjob.ScanAllKind},
		"probe", e.clock(), 0)
	if errors.Is(err, jobs.ErrNoJob) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestTaskRoutesBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// One sync task of each project, and a scan task of A.
	mine, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Sync, Kind: tasks.ManualSync,
		Name: "a", ImageType: "registry", BeginTime: base}, []tasks.Item{{RefID: e.regs["r1"].ID, RegistryID: e.regs["r1"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projB, Type: tasks.Sync, Kind: tasks.ManualSync,
		Name: "b", ImageType: "registry", BeginTime: base}, []tasks.Item{{RefID: e.regs["rb"].ID, RegistryID: e.regs["rb"].ID}})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Scan, Kind: tasks.Manual,
		Name: "s", ImageType: "registry", BeginTime: base}, []tasks.Item{{RefID: 1, Digest: "sha256:x"}})
	if err != nil {
		t.Fatal(err)
	}
	before := taskState(t, e)
	v5 := "/v5/" + projA + "/image/"
	regs := func(id, q string) string { return v5 + "image-sync/tasks/" + id + "/registries" + q }
	post := func(body string) reqSpec {
		return reqSpec{Method: http.MethodPost, Target: v5 + "image-sync/tasks", Body: []byte(body)}
	}
	cases := []struct {
		name   string
		req    reqSpec
		status int
		code   string
	}{
		{"list: type missing", reqSpec{Target: v5 + "tasks"}, 400, "HSS.0001"},
		{"list: type empty", reqSpec{Target: v5 + "tasks?type="}, 400, "HSS.0001"},
		{"list: type unknown", reqSpec{Target: v5 + "tasks?type=image_push"}, 400, "HSS.0001"},
		{"list: type twice", reqSpec{Target: v5 + "tasks?type=image_sync&type=image_scan"}, 400, "HSS.0001"},
		{"list: task_type of the other type", reqSpec{Target: v5 + "tasks?type=image_sync&task_type=manual"}, 400, "HSS.0001"},
		{"list: task_type unknown", reqSpec{Target: v5 + "tasks?type=image_scan&task_type=weekly"}, 400, "HSS.0001"},
		{"list: limit 0", reqSpec{Target: v5 + "tasks?type=image_scan&limit=0"}, 400, "HSS.0001"},
		{"list: limit 201", reqSpec{Target: v5 + "tasks?type=image_scan&limit=201"}, 400, "HSS.0001"},
		{"list: offset negative", reqSpec{Target: v5 + "tasks?type=image_scan&offset=-1"}, 400, "HSS.0001"},
		{"list: offset not a number", reqSpec{Target: v5 + "tasks?type=image_scan&offset=ten"}, 400, "HSS.0001"},
		{"list: task_status unknown", reqSpec{Target: v5 + "tasks?type=image_scan&task_status=done"}, 400, "HSS.0001"},
		{"list: global_image_type unknown", reqSpec{Target: v5 + "tasks?type=image_scan&global_image_type=cloud"}, 400, "HSS.0001"},
		{"list: scan_scope too large", reqSpec{Target: v5 + "tasks?type=image_scan&scan_scope=2147483648"}, 400, "HSS.0001"},
		{"list: unknown enterprise project", reqSpec{Target: v5 + "tasks?type=image_scan&enterprise_project_id=nope", AK: e.akEP, SK: e.skEP}, 403, "HSS.0013"},
		{"registries: unknown task", reqSpec{Target: regs("NOSUCHTASK", "")}, 404, "HSS.0011"},
		{"registries: another project's task", reqSpec{Target: regs(theirs.ID, "")}, 404, "HSS.0011"},
		{"registries: a scan task", reqSpec{Target: regs(scan.ID, "")}, 404, "HSS.0011"},
		{"registries: task id too long", reqSpec{Target: regs(strings.Repeat("x", 65), "")}, 400, "HSS.0001"},
		{"registries: sync_status unknown", reqSpec{Target: regs(mine.ID, "?sync_status=done")}, 400, "HSS.0001"},
		{"registries: registry_type unknown", reqSpec{Target: regs(mine.ID, "?registry_type=Harbor,Quay")}, 400, "HSS.0001"},
		{"registries: limit 0", reqSpec{Target: regs(mine.ID, "?limit=0")}, 400, "HSS.0001"},
		{"create: sync_all_registries missing", post(`{}`), 400, "HSS.0001"},
		{"create: sync_all_registries not a bool", post(`{"sync_all_registries":"yes"}`), 400, "HSS.0002"},
		{"create: no registry named", post(`{"sync_all_registries":false}`), 400, "HSS.0001"},
		{"create: registry id not a number", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"abc"}]}`), 400, "HSS.0001"},
		{"create: registry named twice", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["r1"].ID) +
			`"},{"registry_id":"` + itoa(e.regs["r1"].ID) + `"}]}`), 400, "HSS.0001"},
		{"create: wrong registry_type", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["r1"].ID) +
			`","registry_type":"Jfrog"}]}`), 400, "HSS.0001"},
		{"create: unknown registry_type", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["r1"].ID) +
			`","registry_type":"Quay"}]}`), 400, "HSS.0001"},
		{"create: unknown registry among known", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["r1"].ID) +
			`"},{"registry_id":"999999"}]}`), 404, "HSS.0011"},
		{"create: another project's registry", post(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["rb"].ID) + `"}]}`), 404, "HSS.0011"},
		{"create: a registry of an enterprise project not granted", reqSpec{Method: http.MethodPost, Target: v5 + "image-sync/tasks?enterprise_project_id=ep1", AK: e.akEP, SK: e.skEP,
			Body: []byte(`{"sync_all_registries":false,"registry_info":[{"registry_id":"` + itoa(e.regs["r1"].ID) + `"}]}`)}, 404, "HSS.0011"},
		{"create: not JSON", post(`sync everything`), 400, "HSS.0002"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.req), tc.status, tc.code)
			if after := taskState(t, e); after != before {
				t.Fatalf("tasks changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
	if queuedJobs(t, e) {
		t.Fatal("a refused request queued a job")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A sync and a scan asked through the deprecated routes are tasks: GET
// /image/tasks shows them with the counts of what the jobs did, and
// ListAssociateRegistries the connections of the sync.
func TestDeprecatedRoutesMakeTasks(t *testing.T) {
	e := newEnv(t, allowLoopback(t))
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	// Only this test's connections are private-image ones of A.
	for _, name := range []string{"r1", "r3"} {
		if err := e.store.DeleteRegistry(ctx, projA, e.regs[name].ID); err != nil {
			t.Fatal(err)
		}
	}
	good := registrytest.New(t, registrytest.WithDelete())
	good.PushImage(t, "team/app", "1", registrytest.ImageOptions{})
	good.PushImage(t, "team/app", "2", registrytest.ImageOptions{Layers: []map[string]string{{"etc/two": "2\n"}}})
	locked := registrytest.New(t, registrytest.WithBasicAuth("robot", "right-password"))
	v5 := "/v5/" + projA + "/image/"
	for name, body := range map[string]map[string]any{
		"good":   {"registry_name": "good", "registry_type": "Other", "protocol": "http", "registry_addr": good.Addr()},
		"locked": {"registry_name": "locked", "registry_type": "Harbor", "protocol": "http", "registry_addr": locked.Addr(), "registry_username": "robot", "registry_password": "wrong-password"},
	} {
		body["api_version"] = "V2"
		if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "registries", Body: jsonBody(t, body)}); r.Status != http.StatusOK {
			t.Fatalf("add %s: %d %s", name, r.Status, r.Raw)
		}
	}
	rt := registry.NewTransport(loopbackPolicy(t))
	svc := newScanService(t, e.store, e.box, rt, log)
	run := func() {
		t.Helper()
		r := newRunner(t, e.store, log)
		r.Handle(registry.JobKind, e.syncer.Handle)
		r.Handle(scanjob.JobKind, svc.Handle)
		if err := r.RunUntilIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "synchronize", Body: jsonBody(t, map[string]string{"image_type": "private_image"})}); r.Status != http.StatusOK {
		t.Fatalf("synchronize: %d %s", r.Status, r.Raw)
	}
	// Before the job ran: running, nothing done.
	list := e.do(t, reqSpec{Target: v5 + "tasks?type=image_sync&task_type=manualSync"})
	if list.Status != http.StatusOK || num(t, list.JSON["total_num"]) != 1 {
		t.Fatalf("sync tasks: %d %s", list.Status, list.Raw)
	}
	task := list.JSON["data_list"].([]any)[0].(map[string]any)
	if num(t, task["task_status"]) != 0 || num(t, task["total_num"]) != 2 || num(t, task["end_time"]) != 0 {
		t.Fatalf("queued sync task = %v", task)
	}
	run()
	list = e.do(t, reqSpec{Target: v5 + "tasks?type=image_sync"})
	task = list.JSON["data_list"].([]any)[0].(map[string]any)
	if num(t, task["task_status"]) != 100 || num(t, task["success_num"]) != 1 || num(t, task["failed_num"]) != 1 ||
		task["task_type"] != "manualSync" || num(t, task["end_time"]) == 0 || !strings.HasPrefix(task["task_name"].(string), "manualSync-") {
		t.Fatalf("finished sync task = %v", task)
	}
	id := task["task_id"].(string)
	regs := e.do(t, reqSpec{Target: v5 + "image-sync/tasks/" + id + "/registries"})
	if regs.Status != http.StatusOK || num(t, regs.JSON["total_num"]) != 2 {
		t.Fatalf("associate registries: %d %s", regs.Status, regs.Raw)
	}
	byName := map[string]map[string]any{}
	for _, x := range regs.JSON["data_list"].([]any) {
		m := x.(map[string]any)
		byName[m["registry_name"].(string)] = m
	}
	if byName["good"]["sync_status"] != "finished" || byName["locked"]["sync_status"] != "failed" ||
		byName["locked"]["failed_reason"] == "" || byName["locked"]["registry_type"] != "Harbor" {
		t.Fatalf("associate registries = %s", regs.Raw)
	}
	failed := e.do(t, reqSpec{Target: v5 + "image-sync/tasks/" + id + "/registries?sync_status=failed"})
	if num(t, failed.JSON["total_num"]) != 1 {
		t.Fatalf("failed registries: %s", failed.Raw)
	}
	if r := e.do(t, reqSpec{Target: "/v5/" + projB + "/image/tasks?type=image_sync", AK: e.akB, SK: e.skB}); num(t, r.JSON["total_num"]) != 0 {
		t.Fatalf("project B sees A's task: %s", r.Raw)
	}

	// A scan of both tags, one of which is gone from the registry since.
	good.DeleteTag(t, "team/app", "2")
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "batch-scan", Body: jsonBody(t, map[string]any{
		"image_type": "private_image", "image_info_list": []map[string]string{
			{"namespace": "team", "image_name": "app", "image_version": "1"},
			{"namespace": "team", "image_name": "app", "image_version": "2"}},
	})}); r.Status != http.StatusOK {
		t.Fatalf("batch-scan: %d %s", r.Status, r.Raw)
	}
	run()
	list = e.do(t, reqSpec{Target: v5 + "tasks?type=image_scan&task_type=manual&task_status=finished"})
	if list.Status != http.StatusOK || num(t, list.JSON["total_num"]) != 1 {
		t.Fatalf("scan tasks: %d %s", list.Status, list.Raw)
	}
	task = list.JSON["data_list"].([]any)[0].(map[string]any)
	if num(t, task["task_status"]) != 100 || num(t, task["total_num"]) != 2 || num(t, task["success_num"]) != 1 ||
		num(t, task["failed_num"]) != 1 || num(t, task["risky_num"]) != 0 || task["image_type"] != "registry" {
		t.Fatalf("scan task = %v", task)
	}
	fi := task["failed_images"].([]any)
	if len(fi) != 1 {
		t.Fatalf("failed_images = %v", fi)
	}
	img := fi[0].(map[string]any)
	if img["image_version"] != "2" || img["namespace"] != "team" || img["registry_name"] != "good" || img["failed_reason"] == "" {
		t.Fatalf("failed image = %v", img)
	}
	if r := e.do(t, reqSpec{Target: v5 + "tasks?type=image_scan&task_status=scanning"}); num(t, r.JSON["total_num"]) != 0 {
		t.Fatalf("running scan tasks: %s", r.Raw)
	}
}

// num is a JSON number of a response (decoded with UseNumber).
// scannableRows returns two scannable private rows of project A with
// different manifest digests.
func scannableRows(t *testing.T, e *testEnv) []inventory.Image {
	t.Helper()
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: projA, Type: inventory.PrivateImage, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []inventory.Image
	seen := map[string]bool{}
	for _, img := range page.Images {
		if img.Scannable && img.ManifestDigest != "" && !seen[img.ManifestDigest] {
			seen[img.ManifestDigest] = true
			out = append(out, img)
		}
	}
	if len(out) < 2 {
		t.Fatalf("seeded scannable rows: %d", len(out))
	}
	return out[:2]
}

func TestCreateAndStopScanTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := scannableRows(t, e)
	v5 := "/v5/" + projA + "/image/"
	create := func(ids ...int64) string {
		t.Helper()
		var info []map[string]any
		for _, id := range ids {
			info = append(info, map[string]any{"id": id})
		}
		r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks",
			Body: jsonBody(t, map[string]any{"image_info": info, "rate_limit": 5})})
		if r.Status != http.StatusOK {
			t.Fatalf("create scan task: %d %s", r.Status, r.Raw)
		}
		list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
		if err != nil || len(list) != 1 || list[0].RateLimit != 5 || list[0].ScanScope != 0x7fffffff || list[0].TotalNum != int32(len(ids)) {
			t.Fatalf("created task: %+v, %v", list, err)
		}
		return list[0].ID
	}
	// Two tasks wait for the first digest; only the first waits for the
	// second.
	first := create(rows[0].ID, rows[1].ID)
	second := create(rows[0].ID)
	stop := func(id string, rs reqSpec) result {
		rs.Method, rs.Target = http.MethodPut, v5+"image-scan/tasks/"+id+"/stop"
		return e.do(t, rs)
	}
	if r := stop(first, reqSpec{}); r.Status != http.StatusOK {
		t.Fatalf("stop: %d %s", r.Status, r.Raw)
	}
	got, err := e.store.GetTask(ctx, projA, first)
	if err != nil || got.Status() != -1 || got.EndTime == 0 {
		t.Fatalf("stopped task = %+v, %v", got, err)
	}
	list := e.do(t, reqSpec{Target: v5 + "tasks?type=image_scan&task_id=" + first})
	if num(t, list.JSON["data_list"].([]any)[0].(map[string]any)["task_status"]) != -1 {
		t.Fatalf("listed stopped task: %s", list.Raw)
	}
	// The second digest's scan is cancelled and its rows are not waiting;
	// the first digest's scan stays queued for the second task.
	for _, img := range rows {
		imgs, err := e.store.ImagesByDigest(ctx, projA, img.ManifestDigest)
		if err != nil {
			t.Fatal(err)
		}
		want := inventory.WaitingForScan
		if img.ID == rows[1].ID {
			want = inventory.Unscan
		}
		for _, x := range imgs {
			if x.ScanStatus != want {
				t.Fatalf("row %d of %s: %s, want %s", x.ID, x.ManifestDigest, x.ScanStatus, want)
			}
		}
	}
	before := taskState(t, e)
	bad := []struct {
		name   string
		req    reqSpec
		status int
		code   string
	}{
		{"stop: ended task", reqSpec{Method: http.MethodPut, Target: v5 + "image-scan/tasks/" + first + "/stop"}, 400, "HSS.0001"},
		{"stop: unknown task", reqSpec{Method: http.MethodPut, Target: v5 + "image-scan/tasks/NOSUCHTASK/stop"}, 404, "HSS.0011"},
		{"stop: another project's task", reqSpec{Method: http.MethodPut, Target: "/v5/" + projB + "/image/image-scan/tasks/" + second + "/stop", AK: e.akB, SK: e.skB}, 404, "HSS.0011"},
		{"create: no image", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{}`)}, 400, "HSS.0001"},
		{"create: image without id", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"image_info":[{"image_name":"x"}]}`)}, 400, "HSS.0001"},
		{"create: unknown image", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"image_info":[{"id":` + itoa(rows[0].ID) + `},{"id":99999999}]}`)}, 404, "HSS.0011"},
		{"create: image named twice", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"image_info":[{"id":` + itoa(rows[0].ID) + `},{"id":` + itoa(rows[0].ID) + `}]}`)}, 400, "HSS.0001"},
		{"create: another project's image", reqSpec{Method: http.MethodPost, Target: "/v5/" + projB + "/image/image-scan/tasks", AK: e.akB, SK: e.skB, Body: []byte(`{"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 404, "HSS.0011"},
		{"create: is_all without image_type", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"is_all":true}`)}, 400, "HSS.0001"},
		{"create: is_all with a bad image_type", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"is_all":true,"query_info":{"image_type":"local_image"}}`)}, 400, "HSS.0001"},
		{"create: scan_scope 0", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"scan_scope":0,"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 400, "HSS.0001"},
		{"create: scan_scope of no part", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"scan_scope":1048576,"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 400, "HSS.0001"},
		{"create: scan_scope negative", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"scan_scope":-1,"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 400, "HSS.0001"},
		{"create: rate_limit 1001", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"rate_limit":1001,"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 400, "HSS.0001"},
		{"create: a registry image as a local one", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks?global_image_type=local", Body: []byte(`{"image_info":[{"id":` + itoa(rows[0].ID) + `}]}`)}, 404, "HSS.0011"},
		{"create: a local image as a registry one", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks", Body: []byte(`{"image_info":[{"id":` + itoa(localRow(t, e).ID) + `}]}`)}, 404, "HSS.0011"},
		{"create: local is_all with a registry image_type", reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks?global_image_type=local", Body: []byte(`{"is_all":true,"query_info":{"image_type":"private_image"}}`)}, 400, "HSS.0001"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.req), tc.status, tc.code)
			if after := taskState(t, e); after != before {
				t.Fatalf("tasks changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
	// What is queued: the first digest's scan only, once.
	if n := liveScanJobs(t, e); n != 1 {
		t.Fatalf("queued scans after the stop = %d, want 1 (the digest the second task waits for)", n)
	}

	// is_all: a listing task the scan-all job fills.
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks",
		Body: []byte(`{"is_all":true,"query_info":{"image_type":"private_image","namespace":"team"}}`)}); r.Status != http.StatusOK {
		t.Fatalf("is_all: %d %s", r.Status, r.Raw)
	}
	all, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
	if err != nil || !all[0].IsAll || !all[0].Listing || all[0].TotalNum != 0 {
		t.Fatalf("is_all task: %+v, %v", all, err)
	}
	if n := runScanAll(t, e); n != 1 {
		t.Fatalf("scan-all jobs = %d", n)
	}
	got, err = e.store.GetTask(ctx, projA, all[0].ID)
	if err != nil || got.Listing || got.TotalNum == 0 {
		t.Fatalf("is_all task after its job: %+v, %v", got, err)
	}
}

// localRow is the project's one image imported from a file.
func localRow(t *testing.T, e *testEnv) inventory.Image {
	t.Helper()
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: projA, Type: inventory.LocalImage, Limit: 10})
	if err != nil || len(page.Images) != 1 {
		t.Fatalf("local images: %+v, %v", page.Images, err)
	}
	return page.Images[0]
}

// TestCreateLocalScanTask: global_image_type local (or local_image, the
// English docs' spelling) scans images imported from files, by id or all
// of them, as tasks of image_type local that the list's global_image_type
// filter tells apart.
func TestCreateLocalScanTask(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v5 := "/v5/" + projA + "/image/"
	local := localRow(t, e)
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks?global_image_type=local",
		Body: []byte(`{"image_info":[{"id":` + itoa(local.ID) + `}]}`)}); r.Status != http.StatusOK {
		t.Fatalf("local scan task: %d %s", r.Status, r.Raw)
	}
	list, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 10})
	if err != nil || len(list) != 1 || list[0].ImageType != "local" || list[0].TotalNum != 1 {
		t.Fatalf("local scan task: %+v, %v", list, err)
	}
	imgs, err := e.store.ImagesByDigest(ctx, projA, local.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		if img.Type == inventory.LocalImage && img.ScanStatus != inventory.WaitingForScan {
			t.Fatalf("local row after the request: %s", img.ScanStatus)
		}
	}
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: v5 + "image-scan/tasks?global_image_type=local_image",
		Body: []byte(`{"is_all":true}`)}); r.Status != http.StatusOK {
		t.Fatalf("local is_all: %d %s", r.Status, r.Raw)
	}
	if n := runScanAll(t, e); n != 1 {
		t.Fatalf("scan-all jobs = %d", n)
	}
	all, _, err := e.store.ListTasks(ctx, tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 1})
	if err != nil || !all[0].IsAll || all[0].Listing || all[0].ImageType != "local" || all[0].TotalNum != 1 {
		t.Fatalf("local is_all task after its job: %+v, %v", all, err)
	}
	for _, tc := range []struct {
		global string
		want   int
	}{{"local", 2}, {"local_image", 2}, {"registry", 0}} {
		r := e.do(t, reqSpec{Target: v5 + "tasks?type=image_scan&global_image_type=" + tc.global})
		if r.Status != http.StatusOK || int(num(t, r.JSON["total_num"])) != tc.want {
			t.Fatalf("tasks of global_image_type %s: %s; want %d", tc.global, r.Raw, tc.want)
		}
	}
}
