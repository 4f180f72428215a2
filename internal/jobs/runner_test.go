package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func enqueue(t *testing.T, s jobs.Store, key string) jobs.Job {
	t.Helper()
	now := time.Now().UnixMilli()
	j, _, err := s.Enqueue(context.Background(), jobs.Job{Kind: "test", Key: key, ProjectID: "p", State: jobs.Queued, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func waitState(t *testing.T, s jobs.Store, id int64, want jobs.State) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, want %s", id, j.State, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunnerRunsAndRecordsOutcome(t *testing.T) {
	s := openStore(t)
	ok := enqueue(t, s, "ok")
	bad := enqueue(t, s, "bad")
	boom := enqueue(t, s, "boom")

	r := jobs.NewRunner(s, quiet())
	r.Poll = 10 * time.Millisecond
	var seen sync.Map
	r.Handle("test", func(ctx context.Context, j jobs.Job) error {
		seen.Store(j.Key, true)
		switch j.Key {
		case "bad":
			return errors.New("registry said no")
		case "boom":
			panic("hostile input")
		}
		return nil
	})
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if j := waitState(t, s, ok.ID, jobs.Done); j.Error != "" {
		t.Fatalf("done job has error %q", j.Error)
	}
	if j := waitState(t, s, bad.ID, jobs.Failed); j.Error != "registry said no" {
		t.Fatalf("failed job error %q", j.Error)
	}
	// A panicking handler fails its job; the runner survives.
	if j := waitState(t, s, boom.ID, jobs.Failed); j.Error == "" {
		t.Fatal("panicked job has no error")
	}
	for _, k := range []string{"ok", "bad", "boom"} {
		if _, ok := seen.Load(k); !ok {
			t.Fatalf("job %s never ran", k)
		}
	}
}

// A worker that dies holding a job (kill -9) leaves it running with a lease;
// once the lease expires another runner takes it and finishes it.
func TestAbandonedJobIsTakenAfterLease(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "orphan")
	claimed, err := s.Claim(context.Background(), []string{"test"}, "dead-worker", time.Now(), 200*time.Millisecond)
	if err != nil || claimed.ID != j.ID {
		t.Fatalf("claim: %v %v", claimed, err)
	}

	r := jobs.NewRunner(s, quiet())
	r.Poll = 20 * time.Millisecond
	var runs atomic.Int32
	r.Handle("test", func(ctx context.Context, j jobs.Job) error {
		runs.Add(1)
		return nil
	})
	// Before the lease expires nothing is ready.
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 0 {
		t.Fatal("a leased job was taken before its lease expired")
	}
	time.Sleep(250 * time.Millisecond)
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, s, j.ID, jobs.Done)
	if runs.Load() != 1 || got.Attempts != 2 {
		t.Fatalf("runs=%d attempts=%d, want 1 and 2", runs.Load(), got.Attempts)
	}
	// The dead worker's late Finish is refused.
	if err := s.Finish(context.Background(), j.ID, "dead-worker", "", time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("late finish by the old owner: %v", err)
	}
}

// Heartbeats keep a long job's lease: a second runner never takes it while
// the first still works on it.
func TestHeartbeatKeepsLease(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "long")
	var runs atomic.Int32
	release := make(chan struct{})
	handler := func(ctx context.Context, _ jobs.Job) error {
		runs.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		r := jobs.NewRunner(s, quiet())
		r.Lease = 150 * time.Millisecond
		r.Poll = 10 * time.Millisecond
		r.Handle("test", handler)
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	time.Sleep(600 * time.Millisecond) // four leases long
	close(release)
	waitState(t, s, j.ID, jobs.Done)
	cancel()
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("job ran %d times, want 1", n)
	}
}

// Stopping a runner mid-job leaves the job to its lease (as a crash does), so
// a restarted runner completes it.
func TestStopMidJobIsResumedAfterRestart(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "interrupted")
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	r1 := jobs.NewRunner(s, quiet())
	r1.Lease = 100 * time.Millisecond
	r1.Poll = 10 * time.Millisecond
	r1.Handle("test", func(ctx context.Context, _ jobs.Job) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	done := make(chan struct{})
	go func() { r1.Run(ctx); close(done) }()
	<-started
	cancel()
	<-done
	if got, _ := s.GetJob(context.Background(), j.ID); got.State != jobs.Running {
		t.Fatalf("after stop the job is %s, want still running under its lease", got.State)
	}

	time.Sleep(150 * time.Millisecond)
	r2 := jobs.NewRunner(s, quiet())
	r2.Handle("test", func(context.Context, jobs.Job) error { return nil })
	if err := r2.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, j.ID, jobs.Done)
}

// A job whose workers keep dying under it is failed after MaxAttempts
// instead of being retried forever.
func TestPoisonJobGivesUp(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "poison")
	now := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := s.Claim(context.Background(), []string{"test"}, "dying", now, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	r := jobs.NewRunner(s, quiet())
	r.MaxAttempts = 3
	r.Now = func() time.Time { return now }
	var runs atomic.Int32
	r.Handle("test", func(context.Context, jobs.Job) error { runs.Add(1); return nil })
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, s, j.ID, jobs.Failed)
	if runs.Load() != 0 || got.Error == "" {
		t.Fatalf("runs=%d error=%q", runs.Load(), got.Error)
	}
}
