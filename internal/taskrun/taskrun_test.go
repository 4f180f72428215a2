package taskrun_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// requests records what a Starter asks the sync and scan queues for: the
// queues themselves are exercised by the scheduler's and the API's tests.
type requests struct {
	syncs    []inventory.ImageType
	scans    map[string][]int64 // task id → row ids
	scanAlls map[string]inventory.Filter
}

func (r *requests) Request(_ context.Context, _ string, t inventory.ImageType) (jobs.Job, bool, error) {
	r.syncs = append(r.syncs, t)
	return jobs.Job{}, false, nil
}

func (r *requests) RequestScans(_ context.Context, _, taskID string, images []inventory.Image) error {
	for _, img := range images {
		r.scans[taskID] = append(r.scans[taskID], img.ID)
	}
	return nil
}

func (r *requests) RequestScanAll(_ context.Context, _, taskID string, f inventory.Filter) error {
	r.scanAlls[taskID] = f
	return nil
}

func newStarter(t *testing.T) (*taskrun.Starter, store.Store) {
	s, st, _ := newStarterRequests(t)
	return s, st
}

func newStarterRequests(t *testing.T) (*taskrun.Starter, store.Store, *requests) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &requests{scans: map[string][]int64{}, scanAlls: map[string]inventory.Filter{}}
	s, err := taskrun.New(taskrun.Options{Tasks: st, Sync: r, Scans: r,
		Now: func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s, st, r
}

// A Starter missing a queue is refused when built, not when it first
// starts a task of that kind.
func TestNewRefuses(t *testing.T) {
	_, st := newStarter(t)
	r := &requests{}
	for name, o := range map[string]taskrun.Options{
		"tasks": {Sync: r, Scans: r},
		"sync":  {Tasks: st, Scans: r},
		"scans": {Tasks: st, Sync: r},
	} {
		if _, err := taskrun.New(o); err == nil {
			t.Errorf("without %s: no error", name)
		}
	}
}

// StartScan and StartScanAll make scan tasks (the latter listing, is_all)
// and queue into the task they created.
func TestStartScans(t *testing.T) {
	s, st, r := newStarterRequests(t)
	ctx := context.Background()
	rows := []inventory.Image{{ID: 7, Digest: "sha256:a", ManifestDigest: "sha256:a"}, {ID: 9, Digest: "sha256:b", ManifestDigest: "sha256:b"}}
	named, err := s.StartScan(ctx, tasks.Task{ProjectID: "p1", Kind: tasks.Manual}, rows)
	if err != nil {
		t.Fatal(err)
	}
	f := inventory.Filter{ProjectID: "p1", Namespace: "team"}
	all, err := s.StartScanAll(ctx, tasks.Task{ProjectID: "p1", Kind: tasks.Manual}, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		task  tasks.Task
		isAll bool
		items int32
	}{{named, false, 2}, {all, true, 0}} {
		got, err := st.GetTask(ctx, "p1", tc.task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != tasks.Scan || got.IsAll != tc.isAll || got.Listing != tc.isAll || got.TotalNum != tc.items {
			t.Errorf("task %s: type %s, is_all %v, listing %v, %d items; want scan, %v, %v, %d", got.ID, got.Type,
				got.IsAll, got.Listing, got.TotalNum, tc.isAll, tc.isAll, tc.items)
		}
	}
	if got := r.scans[named.ID]; len(got) != 2 || got[0] != 7 || got[1] != 9 {
		t.Errorf("scans queued into %s: %v, want [7 9]", named.ID, r.scans)
	}
	if got, ok := r.scanAlls[all.ID]; !ok || got.Namespace != "team" {
		t.Errorf("scan-all queued into %s: %v", all.ID, r.scanAlls)
	}
}

// A task started twice under one id (a job run again after a crash) is
// one task; its jobs are queued again while it runs, not once it ended.
func TestStartWithIDIsOnce(t *testing.T) {
	s, st := newStarter(t)
	ctx := context.Background()
	queued := 0
	queue := func(tasks.Task) error { queued++; return nil }
	items := []tasks.Item{{RefID: 1, Digest: "sha256:a"}}
	task := tasks.Task{ID: "FIXEDID", ProjectID: "p", Type: tasks.Scan, Kind: tasks.Cycle}
	for range 2 {
		got, err := s.Start(ctx, task, items, queue)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "FIXEDID" || got.Name != "cycle-20250601120000" || got.ImageType != "registry" {
			t.Fatalf("started %+v", got)
		}
	}
	list, n, err := st.ListTasks(ctx, tasks.Filter{ProjectID: "p", Type: tasks.Scan, Limit: 10})
	if err != nil || n != 1 || len(list) != 1 {
		t.Fatalf("%d tasks (%v), want 1", n, err)
	}
	if queued != 2 {
		t.Errorf("queued %d times, want 2 (again while running)", queued)
	}
	if _, err := st.EndTask(ctx, "p", "FIXEDID", tasks.Stopped, "", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, task, items, queue); err != nil || queued != 2 {
		t.Errorf("start of an ended task: %v, queued %d times; want nothing queued", err, queued)
	}
}

// A task whose jobs cannot be queued ends as an error.
func TestStartFailsTaskWhenQueueFails(t *testing.T) {
	s, st := newStarter(t)
	ctx := context.Background()
	boom := errors.New("queue down")
	_, err := s.Start(ctx, tasks.Task{ProjectID: "p", Type: tasks.Sync, Kind: tasks.AutoSync},
		[]tasks.Item{{RefID: 1}}, func(tasks.Task) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Start: %v, want the queue's error", err)
	}
	list, _, err := st.ListTasks(ctx, tasks.Filter{ProjectID: "p", Type: tasks.Sync, Limit: 10})
	if err != nil || len(list) != 1 || list[0].Status() != -3 {
		t.Fatalf("tasks %+v (%v): want one, status -3", list, err)
	}
}
