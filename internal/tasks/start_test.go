package tasks_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/tasks"
)

// TestStart: a task whose jobs are queued is running with its items; one
// whose queueing fails ends as Failed with the reason, and the error is
// the queue's.
func TestStart(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	items := []tasks.Item{{RefID: 1, Digest: "sha256:aa", Namespace: "ns", ImageName: "a", ImageVersion: "1"}}

	var queued tasks.Task
	err = tasks.Start(ctx, st, now, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, ScanScope: tasks.ScanScopeAll},
		items, func(tk tasks.Task) error { queued = tk; return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTask(ctx, "p1", queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Running || got.Name != "manual-20250601120001" || got.ImageType != "registry" || got.TotalNum != 1 ||
		got.BeginTime != time.Date(2025, 6, 1, 12, 0, 1, 0, time.UTC).UnixMilli() {
		t.Errorf("started task %+v", got)
	}

	boom := errors.New("queue down")
	err = tasks.Start(ctx, st, now, tasks.Task{ProjectID: "p1", Type: tasks.Scan, Kind: tasks.Manual, Name: "mine"},
		items, func(tk tasks.Task) error { queued = tk; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Start with a failing queue: %v, want the queue's error", err)
	}
	got, err = st.GetTask(ctx, "p1", queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Failed || got.FailedReason != "the task's jobs could not be queued" || got.Name != "mine" ||
		got.EndTime != time.Date(2025, 6, 1, 12, 0, 3, 0, time.UTC).UnixMilli() {
		t.Errorf("task whose queueing failed: %+v", got)
	}
}
