package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
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

	r, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:  s,
		Logger: quiet(),
		Poll:   10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
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

	r, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:  s,
		Logger: quiet(),
		Poll:   20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
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
	if err := s.Finish(context.Background(), claimed.Lease(), "", time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
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
		r, err := jobs.NewRunner(jobs.RunnerOptions{
			Store:  s,
			Logger: quiet(),
			Lease:  150 * time.Millisecond,
			Poll:   10 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
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

// Stopping a runner mid-job releases the job: a restarted runner (or
// another server) takes it at once, by the real clock, instead of waiting
// out its 30 s lease; the interrupted attempt is not counted.
func TestStopMidJobReleasesLease(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "interrupted")
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	r1, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:  s,
		Logger: quiet(),
		Poll:   10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
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
	got, err := s.GetJob(context.Background(), j.ID)
	if err != nil || got.State != jobs.Queued || got.Attempts != 0 || got.Owner != "" {
		t.Fatalf("after a graceful stop the job is %+v (%v), want queued with no attempt counted", got, err)
	}
	c, err := s.Claim(context.Background(), []string{"test"}, "next-process", time.Now(), 30*time.Second)
	if err != nil || c.ID != j.ID || c.Attempts != 1 {
		t.Fatalf("claim right after the stop = %+v, %v; want the job at once", c, err)
	}
}

// A handler that completes as the runner stops is finished, not released.
func TestStopAfterHandlerCompletedFinishes(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "last")
	ctx, cancel := context.WithCancel(context.Background())
	r, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:  s,
		Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Handle("test", func(context.Context, jobs.Job) error {
		cancel() // the stop arrives while the job completes
		return nil
	})
	r.Run(ctx)
	if got, _ := s.GetJob(context.Background(), j.ID); got.State != jobs.Done {
		t.Fatalf("job completed during the stop is %s, want done", got.State)
	}
}

// msgLog passes every log message to c.
type msgLog struct{ c chan string }

func (h *msgLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *msgLog) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.c <- r.Message:
	default:
	}
	return nil
}
func (h *msgLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *msgLog) WithGroup(string) slog.Handler      { return h }

// clock is a settable clock for a runner.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Now().UnixMilli())
	return c
}
func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// A process that stalls longer than the lease (33 s against 30 s: GC,
// swap, a suspended VM) has its other worker claim the job again as the
// next attempt. The stalled attempt must then neither renew nor complete
// the job: its outcome is dropped and the job's outcome is the new
// attempt's. The work function runs once per attempt.
func TestStalledAttemptCannotCompleteReclaimedJob(t *testing.T) {
	s := openStore(t)
	j := enqueue(t, s, "stall")
	clk := newClock()
	logs := &msgLog{c: make(chan string, 100)}
	r, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:   s,
		Logger:  slog.New(logs),
		Workers: 2,
		Poll:    5 * time.Millisecond,
		Now:     clk.Now, // Lease stays 30 s: no real-time heartbeat fires
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		calls   = map[int]int{}
		started = make(chan int, 2)
		release = map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	)
	r.Handle("test", func(ctx context.Context, j jobs.Job) error {
		mu.Lock()
		calls[j.Attempts]++
		mu.Unlock()
		started <- j.Attempts
		<-release[j.Attempts]
		if j.Attempts == 1 {
			return errors.New("stale outcome of attempt 1")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	if a := <-started; a != 1 {
		t.Fatalf("first run is attempt %d", a)
	}
	clk.Advance(33 * time.Second) // the stall
	if a := <-started; a != 2 {
		t.Fatalf("second run is attempt %d", a)
	}
	// The stalled attempt wakes up and completes first: refused.
	close(release[1])
	for m := range logs.c {
		if strings.HasPrefix(m, "job finished") || strings.Contains(m, "outcome dropped") {
			break
		}
	}
	// Its heartbeat, due after the stall, is refused too.
	if err := s.Heartbeat(context.Background(), jobs.Lease{ID: j.ID, Owner: r.Owner(), Attempt: 1}, clk.Now(), 30*time.Second); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("heartbeat of the stalled attempt: %v", err)
	}
	close(release[2])
	got := waitState(t, s, j.ID, jobs.Done)
	cancel()
	<-done
	if got.Error != "" || got.Attempts != 2 {
		t.Fatalf("job = %+v; want done by attempt 2, the stale outcome dropped", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls[1] != 1 || calls[2] != 1 || len(calls) != 2 {
		t.Fatalf("work function ran %v times per attempt, want once each", calls)
	}
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
	r, err := jobs.NewRunner(jobs.RunnerOptions{
		Store:       s,
		Logger:      quiet(),
		MaxAttempts: 3,
		Now:         func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
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

// A runner without a store, or with a negative setting, is refused by
// NewRunner: the mistake shows at start, not as a panic at the first claim.
func TestNewRunnerRefusesMissingStore(t *testing.T) {
	s := openStore(t)
	for _, tc := range []struct {
		name string
		o    jobs.RunnerOptions
		ok   bool
	}{
		{"no store", jobs.RunnerOptions{}, false},
		{"negative workers", jobs.RunnerOptions{Store: s, Workers: -1}, false},
		{"negative lease", jobs.RunnerOptions{Store: s, Lease: -time.Second}, false},
		{"store only", jobs.RunnerOptions{Store: s}, true},
	} {
		r, err := jobs.NewRunner(tc.o)
		if tc.ok != (err == nil) || tc.ok != (r != nil) {
			t.Errorf("%s: NewRunner = %v, %v; want ok=%v", tc.name, r, err, tc.ok)
		}
	}
}
