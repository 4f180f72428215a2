package taskrun_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

func newStarter(t *testing.T) (*taskrun.Starter, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := taskrun.New(taskrun.Options{Tasks: st, Now: func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
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
	if _, err := s.StartSync(ctx, tasks.Task{ProjectID: "p", Kind: tasks.AutoSync}, nil); err == nil {
		t.Error("StartSync without a SyncRequester succeeded")
	}
}
