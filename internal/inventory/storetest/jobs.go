package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/jobs"
)

// RunJobs runs the jobs.Store suite. newDB creates a fresh, empty database
// and returns a function that opens a handle to it: calling that twice gives
// two independent handles, as two processes would have (the suite closes
// them when the store has a Close method).
func RunJobs(t *testing.T, newDB func(t *testing.T) func(t *testing.T) jobs.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) jobs.Store)
	}{
		{"EnqueueDedupe", testEnqueueDedupe},
		{"ClaimOrderAndKinds", testClaimOrder},
		{"LeaseExpiry", testLeaseExpiry},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newDB(t)
			tc.fn(t, func(t *testing.T) jobs.Store {
				st := open(t)
				if c, ok := st.(interface{ Close() error }); ok {
					t.Cleanup(func() { c.Close() })
				}
				return st
			})
		})
	}
}

var t0 = time.UnixMilli(1_800_000_000_000)

func enqueue(t *testing.T, st jobs.Store, kind, key string) (jobs.Job, bool) {
	t.Helper()
	j, joined, err := st.Enqueue(context.Background(), jobs.Job{Kind: kind, Key: key, ProjectID: "p1", Payload: []byte(`{"k":"` + key + `"}`)})
	if err != nil {
		t.Fatalf("Enqueue(%s, %s): %v", kind, key, err)
	}
	return j, joined
}

func testEnqueueDedupe(t *testing.T, open func(t *testing.T) jobs.Store) {
	ctx := context.Background()
	st := open(t)
	a, joined := enqueue(t, st, "sync", "p1/private_image")
	if joined || a.ID <= 0 || a.State != jobs.Queued || a.Attempts != 0 || string(a.Payload) != `{"k":"p1/private_image"}` || a.ProjectID != "p1" {
		t.Fatalf("first enqueue = %+v joined %v", a, joined)
	}
	b, joined := enqueue(t, st, "sync", "p1/private_image")
	if !joined || b.ID != a.ID {
		t.Fatalf("duplicate enqueue = %+v joined %v; want job %d joined", b, joined, a.ID)
	}
	if c, joined := enqueue(t, st, "scan", "p1/private_image"); joined || c.ID == a.ID {
		t.Fatalf("other kind, same key joined %+v", c)
	}
	if c, joined := enqueue(t, st, "sync", "p1/shared_image"); joined || c.ID == a.ID {
		t.Fatalf("other key joined %+v", c)
	}
	// A running job still dedupes; a finished one does not.
	j, err := st.Claim(ctx, []string{"sync"}, "w1", t0, time.Minute)
	if err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if b, joined := enqueue(t, st, "sync", "p1/private_image"); !joined || b.ID != a.ID || b.State != jobs.Running {
		t.Fatalf("enqueue while running = %+v joined %v", b, joined)
	}
	if err := st.Finish(ctx, a.ID, "w1", "", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if b, joined := enqueue(t, st, "sync", "p1/private_image"); joined || b.ID == a.ID {
		t.Fatalf("enqueue after finish = %+v joined %v; want a new job", b, joined)
	}
	got, err := st.GetJob(ctx, a.ID)
	if err != nil || got.State != jobs.Done || got.Error != "" || got.UpdatedAt != t0.Add(time.Second).UnixMilli() {
		t.Fatalf("finished job = %+v, %v", got, err)
	}
	if _, err := st.GetJob(ctx, 999999); err == nil {
		t.Fatal("GetJob of a missing id succeeded")
	}
}

func testClaimOrder(t *testing.T, open func(t *testing.T) jobs.Store) {
	ctx := context.Background()
	st := open(t)
	if _, err := st.Claim(ctx, []string{"sync"}, "w", t0, time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim on empty queue: %v", err)
	}
	s1, _ := enqueue(t, st, "sync", "1")
	c1, _ := enqueue(t, st, "scan", "1")
	s2, _ := enqueue(t, st, "sync", "2")
	for _, want := range []int64{s1.ID, s2.ID} {
		j, err := st.Claim(ctx, []string{"sync", "other"}, "w", t0, time.Minute)
		if err != nil || j.ID != want || j.State != jobs.Running || j.Owner != "w" || j.Attempts != 1 ||
			j.LeaseTill != t0.Add(time.Minute).UnixMilli() {
			t.Fatalf("Claim = %+v, %v; want job %d", j, err, want)
		}
	}
	if _, err := st.Claim(ctx, []string{"sync"}, "w", t0, time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim with only running jobs left: %v", err)
	}
	if _, err := st.Claim(ctx, nil, "w", t0, time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim of no kinds: %v", err)
	}
	j, err := st.Claim(ctx, []string{"scan"}, "w", t0, time.Minute)
	if err != nil || j.ID != c1.ID {
		t.Fatalf("Claim(scan) = %+v, %v", j, err)
	}
	if err := st.Finish(ctx, j.ID, "w", "registry unreachable", t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetJob(ctx, j.ID); got.State != jobs.Failed || got.Error != "registry unreachable" {
		t.Fatalf("failed job = %+v", got)
	}
	// Finished jobs are never claimed again.
	if _, err := st.Claim(ctx, []string{"scan"}, "w", t0.Add(time.Hour), time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim after finish: %v", err)
	}
}

func testLeaseExpiry(t *testing.T, open func(t *testing.T) jobs.Store) {
	ctx := context.Background()
	st := open(t)
	a, _ := enqueue(t, st, "sync", "x")
	j, err := st.Claim(ctx, []string{"sync"}, "w1", t0, time.Minute)
	if err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if _, err := st.Claim(ctx, []string{"sync"}, "w2", t0.Add(30*time.Second), time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim of a leased job: %v", err)
	}
	if err := st.Heartbeat(ctx, j.ID, "w1", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Claim(ctx, []string{"sync"}, "w2", t0.Add(90*time.Second), time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim after heartbeat extended the lease: %v", err)
	}
	if err := st.Heartbeat(ctx, j.ID, "w2", t0.Add(time.Hour)); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Heartbeat by a non-owner: %v", err)
	}
	j2, err := st.Claim(ctx, []string{"sync"}, "w2", t0.Add(3*time.Minute), time.Minute)
	if err != nil || j2.ID != a.ID || j2.Owner != "w2" || j2.Attempts != 2 {
		t.Fatalf("re-claim after expiry = %+v, %v", j2, err)
	}
	if err := st.Heartbeat(ctx, j.ID, "w1", t0.Add(time.Hour)); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Heartbeat of the old owner: %v", err)
	}
	if err := st.Finish(ctx, j.ID, "w1", "", t0.Add(time.Hour)); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Finish of the old owner: %v", err)
	}
	if err := st.Finish(ctx, j.ID, "w2", "", t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, j.ID, "w2", "", t0.Add(5*time.Minute)); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("second Finish: %v", err)
	}
}

// testConcurrentClaims has workers on two handles claim until the queue is
// empty: every job must be claimed exactly once.
func testConcurrentClaims(t *testing.T, open func(t *testing.T) jobs.Store) {
	ctx := context.Background()
	stores := []jobs.Store{open(t), open(t)}
	const n = 60
	for i := range n {
		enqueue(t, stores[i%2], "scan", fmt.Sprint(i))
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
		errs    = make(chan error, 8)
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, owner := stores[w%2], fmt.Sprintf("w%d", w)
			for {
				j, err := st.Claim(ctx, []string{"scan"}, owner, t0, time.Hour)
				if errors.Is(err, jobs.ErrNoJob) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				prev, dup := claimed[j.ID]
				claimed[j.ID] = owner
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, owner)
					return
				}
				if err := st.Finish(ctx, j.ID, owner, "", t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != n {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), n)
	}
}

// testConcurrentEnqueue has goroutines on two handles enqueue the same
// (kind, key): exactly one job may result.
func testConcurrentEnqueue(t *testing.T, open func(t *testing.T) jobs.Store) {
	ctx := context.Background()
	stores := []jobs.Store{open(t), open(t)}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ids    = map[int64]int{}
		joined int
		errs   = make(chan error, 16)
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, jn, err := stores[i%2].Enqueue(ctx, jobs.Job{Kind: "sync", Key: "p1/private_image"})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			ids[j.ID]++
			if jn {
				joined++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(ids) != 1 || joined != 15 {
		t.Fatalf("jobs %v, %d joined; want one job and 15 joins", ids, joined)
	}
}
