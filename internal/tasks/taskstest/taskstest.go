// Package taskstest is the shared suite of tasks.Store: every store runs
// it, so the embedded and the scale-out store keep one set of semantics.
package taskstest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/tasks"
)

// Store is what the suite needs: the task methods under test, the
// inventory to make image rows with, and SetScanResult to give a row a
// scan's counts (a scan item's risk is read from its row).
type Store interface {
	tasks.Store
	inventory.Store
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
	jobs.Store
}

// Run runs the suite; open must return a new, empty store each call (the
// suite closes it).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, st Store)
	}{
		{"SyncItemsEndTheTask", testSyncItems},
		{"EmptyAndListing", testEmptyAndListing},
		{"ScanRiskFromRows", testScanRisk},
		{"ListFiltersAndProjects", testList},
		{"EndTask", testEndTask},
		{"BadTaskStoresNothing", testBadTask},
		{"CancelTaskScans", testCancelScans},
		{"SameMillisecondNewestFirst", testSameMillisecond},
		{"WaitingScanScope", testWaitingScanScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, context.Background(), st)
		})
	}
}

func syncTask(project string, begin int64) tasks.Task {
	return tasks.Task{ProjectID: project, Type: tasks.Sync, Kind: tasks.ManualSync, Name: "sync-" + project,
		ImageType: "registry", BeginTime: begin}
}

func regItems(ids ...int64) []tasks.Item {
	var out []tasks.Item
	for _, id := range ids {
		out = append(out, tasks.Item{RefID: id, RegistryID: id, RegistryName: "reg" + string(rune('a'+id)), RegistryType: "Harbor"})
	}
	return out
}

func create(t *testing.T, ctx context.Context, st Store, tk tasks.Task, items []tasks.Item) tasks.Task {
	t.Helper()
	got, err := st.CreateTask(ctx, tk, items)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return got
}

func get(t *testing.T, ctx context.Context, st Store, project, id string) tasks.Task {
	t.Helper()
	got, err := st.GetTask(ctx, project, id)
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	return got
}

func finish(t *testing.T, ctx context.Context, st Store, f tasks.Finish, want int64) {
	t.Helper()
	n, err := st.FinishTaskItems(ctx, f)
	if err != nil {
		t.Fatalf("FinishTaskItems: %v", err)
	}
	if n != want {
		t.Fatalf("FinishTaskItems(%+v) marked %d items; want %d", f, n, want)
	}
}

type counts struct {
	state                  tasks.State
	status                 int32
	total, ok, failed, end int64
}

func check(t *testing.T, got tasks.Task, want counts) {
	t.Helper()
	c := counts{got.State, got.Status(), int64(got.TotalNum), int64(got.SuccessNum), int64(got.FailedNum), got.EndTime}
	if c != want {
		t.Fatalf("task %s = %+v; want %+v", got.ID, c, want)
	}
}

func testSyncItems(t *testing.T, ctx context.Context, st Store) {
	a := create(t, ctx, st, syncTask("p1", 10), regItems(1, 2, 3))
	b := create(t, ctx, st, syncTask("p1", 11), regItems(2))
	other := create(t, ctx, st, syncTask("p2", 12), regItems(2))
	check(t, a, counts{tasks.Running, 0, 3, 0, 0, 0})

	// One registry's end marks it in every running task of the project
	// holding it, and no other project's.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Sync, RefID: 2, OK: true, At: 20}, 2)
	check(t, get(t, ctx, st, "p1", a.ID), counts{tasks.Running, 33, 3, 1, 0, 0})
	check(t, get(t, ctx, st, "p1", b.ID), counts{tasks.Finished, 100, 1, 1, 0, 20})
	check(t, get(t, ctx, st, "p2", other.ID), counts{tasks.Running, 0, 1, 0, 0, 0})
	// A scan's end does not touch a sync item of the same number.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, RefID: 1, Digest: "sha256:x", OK: true, At: 21}, 0)

	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Sync, RefID: 1, Reason: "unreachable", At: 30}, 1)
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Sync, RefID: 3, OK: true, At: 40}, 1)
	check(t, get(t, ctx, st, "p1", a.ID), counts{tasks.Finished, 100, 3, 2, 1, 40})
	// A finished task's items stay as they ended.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Sync, RefID: 1, OK: true, At: 50}, 0)

	items, total, err := st.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: "p1", TaskID: a.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(items) != 3 || items[0].RefID != 1 || items[0].State != tasks.ItemFailed ||
		items[0].FailedReason != "unreachable" || items[1].State != tasks.ItemSuccess || items[1].FinishedAt != 20 {
		t.Fatalf("items = %d %+v", total, items)
	}
	failed, total, err := st.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: "p1", TaskID: a.ID, States: []string{tasks.ItemFailed}, Limit: 10})
	if err != nil || total != 1 || len(failed) != 1 || failed[0].RefID != 1 {
		t.Fatalf("failed items = %d %+v, %v", total, failed, err)
	}
	// Another project's task is not found.
	if _, _, err := st.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: "p2", TaskID: a.ID, Limit: 10}); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("items of p1's task as p2: %v; want ErrNotFound", err)
	}
}

func testEmptyAndListing(t *testing.T, ctx context.Context, st Store) {
	empty := create(t, ctx, st, syncTask("p1", 10), nil)
	check(t, empty, counts{tasks.Finished, 100, 0, 0, 0, 10})

	scan := tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "all", ImageType: "registry",
		IsAll: true, Listing: true, BeginTime: 10}
	l := create(t, ctx, st, scan, nil)
	check(t, l, counts{tasks.Running, 0, 0, 0, 0, 0})
	items := []tasks.Item{{RefID: 7, Digest: "sha256:a"}, {RefID: 8, Digest: "sha256:b"}}
	if err := st.AddTaskItems(ctx, "p1", l.ID, items[:1], false, 11); err != nil {
		t.Fatal(err)
	}
	// Listed again after an interruption: item 7 is not doubled.
	if err := st.AddTaskItems(ctx, "p1", l.ID, items, true, 12); err != nil {
		t.Fatal(err)
	}
	check(t, get(t, ctx, st, "p1", l.ID), counts{tasks.Running, 0, 2, 0, 0, 0})
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: "sha256:a", Reason: "download_failed", At: 13}, 1)
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: "sha256:b", Reason: "x", At: 14}, 1)
	check(t, get(t, ctx, st, "p1", l.ID), counts{tasks.Finished, 100, 2, 0, 2, 14})
	if err := st.AddTaskItems(ctx, "p1", l.ID, items, true, 15); !errors.Is(err, tasks.ErrEnded) {
		t.Fatalf("AddTaskItems to an ended task: %v; want ErrEnded", err)
	}
	if err := st.AddTaskItems(ctx, "p2", l.ID, items, true, 15); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("AddTaskItems to another project's task: %v; want ErrNotFound", err)
	}

	// A listing task with nothing listed finishes when the listing ends.
	l2 := create(t, ctx, st, scan, nil)
	if err := st.AddTaskItems(ctx, "p1", l2.ID, nil, true, 16); err != nil {
		t.Fatal(err)
	}
	check(t, get(t, ctx, st, "p1", l2.ID), counts{tasks.Finished, 100, 0, 0, 0, 16})
}

func testScanRisk(t *testing.T, ctx context.Context, st Store) {
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := st.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", EnterpriseProjectID: "0", Name: "r",
		Type: inventory.Harbor, Protocol: "https", Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	da, db := "sha256:"+repeat("a"), "sha256:"+repeat("b")
	ms := []inventory.Manifest{manifest(da), manifest(db)}
	if _, err := st.ApplySync(ctx, inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1, Manifests: ms,
		Repositories: []inventory.RepoSnapshot{{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{
			{Tag: "1", Digest: da, ManifestDigest: da}, {Tag: "2", Digest: db, ManifestDigest: db}}}}}); err != nil {
		t.Fatal(err)
	}
	page, err := st.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 10})
	if err != nil || len(page.Images) != 2 {
		t.Fatalf("rows: %+v, %v", page.Images, err)
	}
	var items []tasks.Item
	for _, img := range page.Images {
		items = append(items, tasks.Item{RefID: img.ID, Digest: img.ManifestDigest, RegistryID: reg.ID,
			Namespace: img.Namespace, ImageName: img.Name, ImageVersion: img.Tag})
	}
	tk := create(t, ctx, st, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "s",
		ImageType: "registry", BeginTime: 5}, items)
	if err := st.SetScanResult(ctx, da, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 6, VulNum: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetScanResult(ctx, db, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 6}); err != nil {
		t.Fatal(err)
	}
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: da, OK: true, At: 7}, 1)
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: db, OK: true, At: 8}, 1)
	got := get(t, ctx, st, "p1", tk.ID)
	check(t, got, counts{tasks.Finished, 100, 2, 2, 0, 8})
	if got.RiskyNum != 1 {
		t.Fatalf("risky_num = %d; want 1 (only %s has vulnerabilities)", got.RiskyNum, da)
	}
}

func repeat(s string) string {
	out := ""
	for range 64 {
		out += s
	}
	return out
}

func manifest(d string) inventory.Manifest {
	return inventory.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: 100, Created: 1000, Platform: "linux/amd64", Scannable: true}
}

func testList(t *testing.T, ctx context.Context, st Store) {
	var ids []string
	for i := range 5 {
		tk := syncTask("p1", int64(100+i))
		if i%2 == 1 {
			tk.Kind = tasks.AutoSync
		}
		ids = append(ids, create(t, ctx, st, tk, regItems(int64(i))).ID)
	}
	scope := int32(983040)
	scan := create(t, ctx, st, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "weekly scan",
		ImageType: "registry", ScanScope: scope, RateLimit: 5, BeginTime: 200}, []tasks.Item{{RefID: 9, Digest: "sha256:c"}})
	create(t, ctx, st, syncTask("p2", 300), regItems(1))
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Sync, RefID: 0, OK: true, At: 150}, 1)

	ended, running := true, false
	cases := []struct {
		name  string
		f     tasks.Filter
		total int64
		want  []string
	}{
		{"sync newest first", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Limit: 10}, 5, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"paging", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Offset: 1, Limit: 2}, 5, []string{ids[3], ids[2]}},
		{"kind", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Kind: tasks.AutoSync, Limit: 10}, 2, []string{ids[3], ids[1]}},
		{"ended", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Ended: &ended, Limit: 10}, 1, []string{ids[0]}},
		{"running", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Ended: &running, Limit: 1}, 4, []string{ids[4]}},
		{"id", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, TaskID: ids[2], Limit: 10}, 1, []string{ids[2]}},
		{"created from", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, CreatedFrom: 103, Limit: 10}, 2, []string{ids[4], ids[3]}},
		{"ended by", tasks.Filter{ProjectID: "p1", Type: tasks.Sync, EndedBy: 150, Limit: 10}, 1, []string{ids[0]}},
		{"scan by name and scope", tasks.Filter{ProjectID: "p1", Type: tasks.Scan, Name: "weekly", ScanScope: &scope, Limit: 10}, 1, []string{scan.ID}},
		{"name misses", tasks.Filter{ProjectID: "p1", Type: tasks.Scan, Name: "daily", Limit: 10}, 0, nil},
		{"another project's id", tasks.Filter{ProjectID: "p2", Type: tasks.Sync, TaskID: ids[0], Limit: 10}, 0, nil},
	}
	for _, tc := range cases {
		got, total, err := st.ListTasks(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var gotIDs []string
		for _, tk := range got {
			gotIDs = append(gotIDs, tk.ID)
		}
		if total != tc.total || len(gotIDs) != len(tc.want) {
			t.Fatalf("%s: total %d ids %v; want %d %v", tc.name, total, gotIDs, tc.total, tc.want)
		}
		for i := range gotIDs {
			if gotIDs[i] != tc.want[i] {
				t.Fatalf("%s: ids %v; want %v", tc.name, gotIDs, tc.want)
			}
		}
	}
	got := get(t, ctx, st, "p1", scan.ID)
	if got.ScanScope != scope || got.RateLimit != 5 || got.Name != "weekly scan" || got.Kind != tasks.Manual || got.ImageType != "registry" {
		t.Fatalf("scan task = %+v", got)
	}
	if _, err := st.GetTask(ctx, "p2", scan.ID); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("GetTask of another project's task: %v; want ErrNotFound", err)
	}
}

func testEndTask(t *testing.T, ctx context.Context, st Store) {
	tk := create(t, ctx, st, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "s",
		ImageType: "registry", BeginTime: 1}, []tasks.Item{{RefID: 1, Digest: "sha256:a"}, {RefID: 2, Digest: "sha256:b"}})
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: "sha256:a", OK: true, At: 2}, 1)
	if _, err := st.EndTask(ctx, "p2", tk.ID, tasks.Stopped, "", 3); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("EndTask of another project's task: %v; want ErrNotFound", err)
	}
	check(t, get(t, ctx, st, "p1", tk.ID), counts{tasks.Running, 50, 2, 1, 0, 0})
	cancelled, err := st.EndTask(ctx, "p1", tk.ID, tasks.Stopped, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(cancelled) != 1 || cancelled[0].Digest != "sha256:b" {
		t.Fatalf("cancelled = %+v; want the item of sha256:b", cancelled)
	}
	check(t, get(t, ctx, st, "p1", tk.ID), counts{tasks.Stopped, -1, 2, 1, 0, 4})
	// The scan ending later leaves the stopped task alone.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: "sha256:b", OK: true, At: 5}, 0)
	if _, err := st.EndTask(ctx, "p1", tk.ID, tasks.Stopped, "", 6); !errors.Is(err, tasks.ErrEnded) {
		t.Fatalf("EndTask of a stopped task: %v; want ErrEnded", err)
	}
	check(t, get(t, ctx, st, "p1", tk.ID), counts{tasks.Stopped, -1, 2, 1, 0, 4})

	f := create(t, ctx, st, syncTask("p1", 7), regItems(1))
	if _, err := st.EndTask(ctx, "p1", f.ID, tasks.Failed, "queue down", 8); err != nil {
		t.Fatal(err)
	}
	got := get(t, ctx, st, "p1", f.ID)
	check(t, got, counts{tasks.Failed, -3, 1, 0, 0, 8})
	if got.FailedReason != "queue down" {
		t.Fatalf("failed_reason = %q", got.FailedReason)
	}
}

func testBadTask(t *testing.T, ctx context.Context, st Store) {
	for _, tk := range []tasks.Task{
		{ProjectID: "p1", Type: "image_x", Kind: tasks.Manual, BeginTime: 1},
		{ProjectID: "p1", Type: tasks.Sync, Kind: tasks.Manual, BeginTime: 1},
		{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.AutoSync, BeginTime: 1},
	} {
		if _, err := st.CreateTask(ctx, tk, regItems(1)); err == nil {
			t.Fatalf("CreateTask(%s, %s) succeeded", tk.Type, tk.Kind)
		}
	}
	for _, ty := range []tasks.Type{tasks.Sync, tasks.Scan} {
		if _, total, err := st.ListTasks(ctx, tasks.Filter{ProjectID: "p1", Type: ty, Limit: 10}); err != nil || total != 0 {
			t.Fatalf("%s tasks after bad creates: %d, %v", ty, total, err)
		}
	}
}

func testCancelScans(t *testing.T, ctx context.Context, st Store) {
	enqueue := func(project, d string) jobs.Job {
		t.Helper()
		j, _, err := st.Enqueue(ctx, jobs.Job{Kind: "scan", Key: inventory.ScanJobKey(project, d), ProjectID: project, CreatedAt: 1})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	// sha256:r's job is running: cancelled too, its worker losing the lease.
	enqueue("p1", "sha256:r")
	jr, err := st.Claim(ctx, []string{"scan"}, "worker-1", time.UnixMilli(2), time.Minute)
	if err != nil || jr.Key != inventory.ScanJobKey("p1", "sha256:r") {
		t.Fatalf("Claim: %+v, %v", jr, err)
	}
	ja, jb, jc := enqueue("p1", "sha256:a"), enqueue("p1", "sha256:b"), enqueue("p2", "sha256:b")
	scan := func(digests ...string) tasks.Task {
		var items []tasks.Item
		for i, d := range digests {
			items = append(items, tasks.Item{RefID: int64(i + 1), Digest: d})
		}
		return create(t, ctx, st, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "s",
			ImageType: "registry", BeginTime: 1}, items)
	}
	stopped, other := scan("sha256:a", "sha256:b", "sha256:r"), scan("sha256:a")
	if _, err := st.EndTask(ctx, "p1", stopped.ID, tasks.Stopped, "", 2); err != nil {
		t.Fatal(err)
	}
	got, err := st.CancelTaskScans(ctx, "p1", "scan", []string{"sha256:a", "sha256:b", "sha256:r"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// sha256:a is still awaited by the other task; p2's job is p2's.
	if !slices.Equal(got, []string{"sha256:b", "sha256:r"}) {
		t.Fatalf("cancelled %v; want [sha256:b sha256:r]", got)
	}
	if err := st.Heartbeat(ctx, jr.Lease(), time.UnixMilli(4), time.Minute); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("heartbeat of the cancelled running job: %v; want ErrLeaseLost", err)
	}
	for _, tc := range []struct {
		j    jobs.Job
		want jobs.State
	}{{ja, jobs.Queued}, {jb, jobs.Failed}, {jc, jobs.Queued}, {jr, jobs.Failed}} {
		j, err := st.GetJob(ctx, tc.j.ID)
		if err != nil || j.State != tc.want {
			t.Fatalf("job %s: %s, %v; want %s", j.Key, j.State, err, tc.want)
		}
	}
	check(t, get(t, ctx, st, "p1", other.ID), counts{tasks.Running, 0, 1, 0, 0, 0})
}

func testSameMillisecond(t *testing.T, ctx context.Context, st Store) {
	var ids []string
	for range 5 {
		ids = append(ids, create(t, ctx, st, syncTask("p1", 7), nil).ID)
	}
	got, _, err := st.ListTasks(ctx, tasks.Filter{ProjectID: "p1", Type: tasks.Sync, Limit: 10})
	if err != nil || len(got) != 5 {
		t.Fatalf("ListTasks: %d, %v", len(got), err)
	}
	for i, tk := range got {
		if tk.ID != ids[4-i] {
			t.Fatalf("order %d: %s; want the tasks newest first %v", i, tk.ID, ids)
		}
	}
}

// testWaitingScanScope: the scope a digest's scan runs is the union of the
// scan_scope of the project's running scan tasks still waiting for it, and
// a Finish with Missing parts ends only the items of tasks it covers.
func testWaitingScanScope(t *testing.T, ctx context.Context, st Store) {
	const (
		vulns    = 0x000f0000
		baseline = 0x0000f000
		malware  = 0x00000f00
		parts    = 0x000fffff
	)
	d1, d2 := "sha256:"+repeat("1"), "sha256:"+repeat("2")
	scanTask := func(project string, scope int32, begin int64, digests ...string) tasks.Task {
		var items []tasks.Item
		for i, d := range digests {
			items = append(items, tasks.Item{RefID: int64(i + 1), Digest: d, ImageName: "app", ImageVersion: "1"})
		}
		return create(t, ctx, st, tasks.Task{ProjectID: project, Type: tasks.Scan, Kind: tasks.Manual, Name: "s",
			ImageType: "registry", ScanScope: scope, BeginTime: begin}, items)
	}
	a := scanTask("p1", vulns, 1, d1, d2)
	b := scanTask("p1", baseline|0x00100000, 2, d1)
	scanTask("p2", malware, 3, d1)
	// A sync task's items are never a scan's.
	create(t, ctx, st, syncTask("p1", 4), regItems(1))
	type want struct {
		scope   int32
		waiting bool
	}
	check := func(step, project, digest string, w want) {
		t.Helper()
		scope, waiting, err := st.WaitingScanScope(ctx, project, digest)
		if err != nil {
			t.Fatalf("%s: WaitingScanScope(%s, %s): %v", step, project, digest, err)
		}
		if (want{scope, waiting}) != w {
			t.Fatalf("%s: WaitingScanScope(%s, %s) = %#x, %v; want %#x, %v", step, project, digest, scope, waiting, w.scope, w.waiting)
		}
	}
	check("start", "p1", d1, want{vulns | baseline | 0x00100000, true})
	check("start", "p1", d2, want{vulns, true})
	check("start", "p2", d1, want{malware, true})
	check("start", "p1", "sha256:"+repeat("3"), want{0, false})
	check("start", "p3", d1, want{0, false})

	// A scan of vulnerabilities only ends a's item of d1, not b's.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: d1, OK: true, At: 10,
		Missing: parts &^ vulns}, 1)
	check("after the vulnerabilities", "p1", d1, want{baseline | 0x00100000, true})
	if got := get(t, ctx, st, "p1", b.ID); got.SuccessNum != 0 || got.State != tasks.Running {
		t.Fatalf("task b after a scan without its part: %+v", got)
	}
	if got := get(t, ctx, st, "p1", a.ID); got.SuccessNum != 1 {
		t.Fatalf("task a: %+v; want one item ended", got)
	}
	// A stopped task waits for nothing.
	if _, err := st.EndTask(ctx, "p1", b.ID, tasks.Stopped, "stopped", 11); err != nil {
		t.Fatal(err)
	}
	check("b stopped", "p1", d1, want{0, false})
	// Missing 0 ends every waiting item.
	finish(t, ctx, st, tasks.Finish{ProjectID: "p1", Type: tasks.Scan, Digest: d2, OK: false, Reason: "x", At: 12}, 1)
	check("d2 ended", "p1", d2, want{0, false})
	check("other project untouched", "p2", d1, want{malware, true})
}
