package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/secret"
)

// JobsOptions say how a store under the jobs suite keeps time.
type JobsOptions struct {
	// DatabaseClock is set for a store shared by hosts that sets and
	// judges leases by its own clock, ignoring the now callers pass
	// (PostgreSQL). Unset, the caller's now is the clock (SQLite).
	DatabaseClock bool
}

// RunJobs runs the jobs.Store suite. newDB creates a fresh, empty database
// and returns a function that opens a handle to it: calling that twice gives
// two independent handles, as two processes would have (the suite closes
// them when the store has a Close method).
func RunJobs(t *testing.T, newDB func(t *testing.T) func(t *testing.T) jobs.Store, o JobsOptions) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) jobs.Store, o JobsOptions)
	}{
		{"EnqueueDedupe", testEnqueueDedupe},
		{"ClaimOrderAndKinds", testClaimOrder},
		{"NotBefore", testNotBefore},
		{"JoinLowersNotBefore", testJoinLowersNotBefore},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseFencedByAttempt", testLeaseFencedByAttempt},
		{"LeaseClock", testLeaseClock},
		{"Release", testRelease},
		{"Purge", testPurge},
		{"LatestJob", testLatestJob},
		{"AbandonedSyncIsNotLeftSyncing", testAbandonedSync},
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
			}, o)
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

func testEnqueueDedupe(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
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
	if err := st.Finish(ctx, j.Lease(), "", t0.Add(time.Second)); err != nil {
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

func testClaimOrder(t *testing.T, open func(t *testing.T) jobs.Store, o JobsOptions) {
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
			(!o.DatabaseClock && j.LeaseTill != t0.Add(time.Minute).UnixMilli()) || j.LeaseTill <= 0 {
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
	if err := st.Finish(ctx, j.Lease(), "registry unreachable", t0); err != nil {
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

// testNotBefore: a delayed job is not claimed before its not_before by
// the claimer's clock (on every store: the spacing guards nothing, see
// jobs.Store), undelayed jobs go first, and delayed ones then go in
// not_before order, whatever their ids.
func testNotBefore(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	at := func(key string, nb time.Time) jobs.Job {
		t.Helper()
		j, joined, err := st.Enqueue(ctx, jobs.Job{Kind: "scan", Key: key, ProjectID: "p1", NotBefore: nb.UnixMilli()})
		if err != nil || joined || j.NotBefore != nb.UnixMilli() {
			t.Fatalf("Enqueue(%s, not before %d) = %+v joined %v, %v", key, nb.UnixMilli(), j, joined, err)
		}
		return j
	}
	late := at("late", t0.Add(time.Hour))
	early := at("early", t0.Add(30*time.Minute))
	now, _ := enqueue(t, st, "scan", "now")
	if now.NotBefore != 0 {
		t.Fatalf("undelayed job has not_before %d", now.NotBefore)
	}
	claim := func(at time.Time) (jobs.Job, error) {
		return st.Claim(ctx, []string{"scan", "sync"}, "w", at, 24*time.Hour)
	}
	for _, step := range []struct {
		at   time.Time
		want int64 // 0: nothing ready
	}{
		{t0, now.ID},
		{t0, 0},
		{t0.Add(30*time.Minute - time.Millisecond), 0},
		{t0.Add(2 * time.Hour), early.ID}, // both ready: the earlier not_before first
		{t0.Add(2 * time.Hour), late.ID},
		{t0.Add(3 * time.Hour), 0},
	} {
		j, err := claim(step.at)
		if step.want == 0 {
			if !errors.Is(err, jobs.ErrNoJob) {
				t.Fatalf("Claim at %s = %+v, %v; want nothing ready", step.at.Sub(t0), j, err)
			}
			continue
		}
		if err != nil || j.ID != step.want {
			t.Fatalf("Claim at %s = %+v, %v; want job %d", step.at.Sub(t0), j, err, step.want)
		}
	}
	// A released delayed job keeps its not_before.
	d := at("released", t0.Add(5*time.Hour))
	j, err := claim(t0.Add(5 * time.Hour))
	if err != nil || j.ID != d.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if err := st.Release(ctx, j.Lease(), t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if j, err := claim(t0.Add(4 * time.Hour)); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("released delayed job claimed before its not_before: %+v, %v", j, err)
	}
	if got, _ := st.GetJob(ctx, d.ID); got.NotBefore != t0.Add(5*time.Hour).UnixMilli() || got.State != jobs.Queued {
		t.Fatalf("released delayed job = %+v", got)
	}
}

// testJoinLowersNotBefore: joining a queued job lowers its not_before to
// the joiner's, never raises it; a running job is joined unchanged.
func testJoinLowersNotBefore(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	join := func(nb int64) jobs.Job {
		t.Helper()
		j, _, err := st.Enqueue(ctx, jobs.Job{Kind: "scan", Key: "d", ProjectID: "p1", NotBefore: nb})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	hour := t0.Add(time.Hour).UnixMilli()
	a := join(t0.Add(2 * time.Hour).UnixMilli())
	for _, step := range []struct{ join, want int64 }{
		{t0.Add(3 * time.Hour).UnixMilli(), t0.Add(2 * time.Hour).UnixMilli()}, // later: unchanged
		{hour, hour}, // earlier: lowered
		{0, 0},       // undelayed: now
		{hour, 0},    // and never raised again
	} {
		j := join(step.join)
		got, err := st.GetJob(ctx, a.ID)
		if err != nil || j.ID != a.ID || j.NotBefore != step.want || got.NotBefore != step.want {
			t.Fatalf("join with not_before %d = %+v, stored %+v, %v; want job %d not before %d",
				step.join, j, got, err, a.ID, step.want)
		}
	}
	if _, err := st.Claim(ctx, []string{"scan"}, "w", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	b := join(t0.Add(time.Hour).UnixMilli())
	if got, _ := st.GetJob(ctx, a.ID); b.ID != a.ID || got.NotBefore != 0 || got.State != jobs.Running {
		t.Fatalf("join of a running job = %+v, stored %+v", b, got)
	}
}

// expire ends lease l now, by the store's own clock (a heartbeat with no
// time left), and claims until the job is taken again: the store's clock
// must pass the lease's last millisecond first. The suite cannot move a
// database's clock, so it waits for it, which takes a millisecond or two.
func expire(t *testing.T, st jobs.Store, l jobs.Lease, kind, owner string) jobs.Job {
	t.Helper()
	ctx := context.Background()
	if err := st.Heartbeat(ctx, l, time.Now(), 0); err != nil {
		t.Fatalf("Heartbeat(%+v, 0): %v", l, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := st.Claim(ctx, []string{kind}, owner, time.Now(), time.Minute)
		if err == nil {
			return j
		}
		if !errors.Is(err, jobs.ErrNoJob) {
			t.Fatalf("Claim: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d never became claimable after its lease ended", l.ID)
		}
		time.Sleep(time.Millisecond)
	}
}

func testLeaseExpiry(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	a, _ := enqueue(t, st, "sync", "x")
	j, err := st.Claim(ctx, []string{"sync"}, "w1", time.Now(), time.Minute)
	if err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if _, err := st.Claim(ctx, []string{"sync"}, "w2", time.Now(), time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("Claim of a leased job: %v", err)
	}
	if err := st.Heartbeat(ctx, j.Lease(), time.Now(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetJob(ctx, j.ID); got.LeaseTill <= j.LeaseTill {
		t.Fatalf("heartbeat left lease_till at %d (claimed with %d)", got.LeaseTill, j.LeaseTill)
	}
	stranger := jobs.Lease{ID: j.ID, Owner: "w2", Attempt: j.Attempts}
	if err := st.Heartbeat(ctx, stranger, time.Now(), time.Hour); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Heartbeat by a non-owner: %v", err)
	}
	j2 := expire(t, st, j.Lease(), "sync", "w2")
	if j2.ID != a.ID || j2.Owner != "w2" || j2.Attempts != 2 {
		t.Fatalf("re-claim after expiry = %+v", j2)
	}
	if err := st.Heartbeat(ctx, j.Lease(), time.Now(), time.Hour); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Heartbeat of the old owner: %v", err)
	}
	if err := st.Finish(ctx, j.Lease(), "", time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Finish of the old owner: %v", err)
	}
	if err := st.Finish(ctx, j2.Lease(), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, j2.Lease(), "", time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("second Finish: %v", err)
	}
	if err := st.Finish(ctx, jobs.Lease{ID: 999999, Owner: "w2", Attempt: 1}, "", time.Now()); err == nil || errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Finish of a missing job: %v", err)
	}
}

// testLeaseFencedByAttempt: one owner name (one process) claims a job,
// stalls past its lease, and claims it again as the next attempt. The first
// claim's heartbeat, finish and release must all be refused, whatever the
// owner name says, and the second claim's outcome is the job's.
func testLeaseFencedByAttempt(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	a, _ := enqueue(t, st, "scan", "d")
	first, err := st.Claim(ctx, []string{"scan"}, "host/1", time.Now(), time.Minute)
	if err != nil || first.ID != a.ID || first.Attempts != 1 {
		t.Fatalf("Claim = %+v, %v", first, err)
	}
	second := expire(t, st, first.Lease(), "scan", "host/1")
	if second.ID != a.ID || second.Attempts != 2 || second.Owner != first.Owner {
		t.Fatalf("second claim = %+v", second)
	}
	stale := first.Lease()
	if err := st.Heartbeat(ctx, stale, time.Now(), time.Hour); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Heartbeat of the stale attempt: %v", err)
	}
	if err := st.Finish(ctx, stale, "stale outcome", time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Finish of the stale attempt: %v", err)
	}
	if err := st.Release(ctx, stale, time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Release of the stale attempt: %v", err)
	}
	if got, _ := st.GetJob(ctx, a.ID); got.State != jobs.Running || got.Attempts != 2 || got.Error != "" {
		t.Fatalf("after the stale attempt's calls the job is %+v", got)
	}
	if err := st.Heartbeat(ctx, second.Lease(), time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, second.Lease(), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetJob(ctx, a.ID); got.State != jobs.Done || got.Error != "" {
		t.Fatalf("finished job = %+v", got)
	}
}

// testLeaseClock: a store shared by hosts judges leases by its own clock,
// so a caller whose clock runs an hour ahead cannot take a job whose lease
// is alive; a single-host store takes the caller's clock as the time.
func testLeaseClock(t *testing.T, open func(t *testing.T) jobs.Store, o JobsOptions) {
	ctx := context.Background()
	st := open(t)
	a, _ := enqueue(t, st, "scan", "d")
	j, err := st.Claim(ctx, []string{"scan"}, "w1", time.Now(), time.Minute)
	if err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	ahead := time.Now().Add(time.Hour)
	got, err := st.Claim(ctx, []string{"scan"}, "w2", ahead, time.Minute)
	if o.DatabaseClock {
		if !errors.Is(err, jobs.ErrNoJob) {
			t.Fatalf("a claimer with its clock an hour ahead took a live lease: %+v, %v", got, err)
		}
		// Nor does a heartbeat from a clock far behind end the lease.
		if err := st.Heartbeat(ctx, j.Lease(), time.Now().Add(-time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Claim(ctx, []string{"scan"}, "w2", ahead, time.Minute); !errors.Is(err, jobs.ErrNoJob) {
			t.Fatalf("after a heartbeat from a clock behind, a claim took the job: %v", err)
		}
		return
	}
	if err != nil || got.ID != a.ID || got.Attempts != 2 {
		t.Fatalf("single-host store: claim at now+1h = %+v, %v; want the job", got, err)
	}
}

// testRelease: a released job is claimable at once, its attempt not
// counted, and the released lease is dead.
func testRelease(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	a, _ := enqueue(t, st, "scan", "d")
	j, err := st.Claim(ctx, []string{"scan"}, "w1", time.Now(), time.Hour)
	if err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if err := st.Release(ctx, jobs.Lease{ID: j.ID, Owner: "w2", Attempt: 1}, time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("Release by a non-owner: %v", err)
	}
	if err := st.Release(ctx, j.Lease(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetJob(ctx, j.ID); got.State != jobs.Queued || got.Attempts != 0 || got.Owner != "" || got.LeaseTill != 0 {
		t.Fatalf("released job = %+v", got)
	}
	if err := st.Release(ctx, j.Lease(), time.Now()); !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("second Release: %v", err)
	}
	j2, err := st.Claim(ctx, []string{"scan"}, "w2", time.Now(), time.Hour)
	if err != nil || j2.ID != a.ID || j2.Attempts != 1 {
		t.Fatalf("Claim after release = %+v, %v", j2, err)
	}
	// A twin of a released job still joins it.
	if b, joined := enqueue(t, st, "scan", "d"); !joined || b.ID != a.ID {
		t.Fatalf("enqueue after release = %+v joined %v", b, joined)
	}
}

// testPurge: ended jobs older than the cut-off go; recent and live ones
// stay.
func testPurge(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st := open(t)
	day := 24 * time.Hour
	end := func(key, errMsg string, at time.Time) jobs.Job {
		t.Helper()
		a, _ := enqueue(t, st, "scan", key)
		j, err := st.Claim(ctx, []string{"scan"}, "w", time.Now(), time.Hour)
		if err != nil || j.ID != a.ID {
			t.Fatalf("Claim = %+v, %v", j, err)
		}
		if err := st.Finish(ctx, j.Lease(), errMsg, at); err != nil {
			t.Fatal(err)
		}
		return j
	}
	oldDone := end("old-done", "", t0)
	oldFailed := end("old-failed", "boom", t0.Add(day))
	recent := end("recent", "", t0.Add(8*day))
	queued, _ := enqueue(t, st, "scan", "queued")
	running, _ := enqueue(t, st, "scan", "running")
	if _, err := st.Claim(ctx, []string{"scan"}, "w", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	n, err := st.PurgeJobs(ctx, t0.Add(7*day))
	if err != nil || n != 2 {
		t.Fatalf("PurgeJobs = %d, %v; want 2", n, err)
	}
	for _, id := range []int64{oldDone.ID, oldFailed.ID} {
		if _, err := st.GetJob(ctx, id); err == nil {
			t.Fatalf("job %d survived the purge", id)
		}
	}
	for _, id := range []int64{recent.ID, queued.ID, running.ID} {
		if _, err := st.GetJob(ctx, id); err != nil {
			t.Fatalf("job %d: %v", id, err)
		}
	}
	// Live jobs are never purged, however old.
	if n, err := st.PurgeJobs(ctx, time.Now().Add(1000*day)); err != nil || n != 1 {
		t.Fatalf("second PurgeJobs = %d, %v; want only the recent ended job", n, err)
	}
	for _, id := range []int64{queued.ID, running.ID} {
		if _, err := st.GetJob(ctx, id); err != nil {
			t.Fatalf("live job %d purged: %v", id, err)
		}
	}
}

// testLatestJob: the newest job of a kind in any state, whatever the jobs
// of other kinds; none is ErrNotFound.
func testLatestJob(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st, ok := open(t).(interface {
		jobs.Store
		LatestJob(ctx context.Context, kind string) (jobs.Job, error)
	})
	if !ok {
		t.Skip("store has no LatestJob")
	}
	if _, err := st.LatestJob(ctx, "update"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("LatestJob of no job: %v, want ErrNotFound", err)
	}
	check := func(want jobs.Job, state jobs.State) {
		t.Helper()
		got, err := st.LatestJob(ctx, "update")
		if err != nil || got.ID != want.ID || got.State != state {
			t.Fatalf("LatestJob = %+v, %v; want job %d %s", got, err, want.ID, state)
		}
	}
	first, _ := enqueue(t, st, "update", "all")
	enqueue(t, st, "scan", "later") // newer, another kind
	check(first, jobs.Queued)
	j, err := st.Claim(ctx, []string{"update"}, "w", t0, time.Minute)
	if err != nil || j.ID != first.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	check(first, jobs.Running)
	if err := st.Finish(ctx, j.Lease(), "download failed", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	check(first, jobs.Failed)
	second, _ := enqueue(t, st, "update", "all")
	check(second, jobs.Queued) // a newer queued job over an older failed one
	j, err = st.Claim(ctx, []string{"update"}, "w", t0, time.Minute)
	if err != nil || j.ID != second.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if err := st.Finish(ctx, j.Lease(), "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	check(second, jobs.Done)
}

// syncJobStore is what the abandoned-sync test needs besides jobs.
type syncJobStore interface {
	jobs.Store
	registry.SyncStore
	CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error)
}

// testAbandonedSync: a sync job whose workers keep dying mid-sync (kill -9:
// the connection shows "syncing", the job is left to its lease) is given up
// by the runner after MaxAttempts, and then the connection must not stay
// "syncing" forever: it is failed, saying why.
func testAbandonedSync(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
	ctx := context.Background()
	st, ok := open(t).(syncJobStore)
	if !ok {
		t.Skip("store keeps no registry connections")
	}
	reg, err := st.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Name: "r", Type: inventory.Harbor,
		Protocol: "https", Addr: "reg.example", Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := st.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Name: "r2", Type: inventory.Harbor,
		Protocol: "https", Addr: "reg2.example", Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	// The box and lister are never used: no sync runs, the job is abandoned.
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	lister, err := registry.NewLister(registry.ListerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: st, Queue: st, Box: box, Lister: lister,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := syncer.Request(ctx, "p1", inventory.PrivateImage)
	if err != nil {
		t.Fatal(err)
	}
	// The second connection was synced by an earlier attempt before it
	// died: its outcome stays.
	if err := st.SetRegistryStatus(ctx, done.ID, inventory.RegistryOK, "", 1234); err != nil {
		t.Fatal(err)
	}
	const maxAttempts = 3
	l := jobs.Lease{}
	for i := range maxAttempts {
		var c jobs.Job
		if i == 0 {
			c, err = st.Claim(ctx, []string{registry.JobKind}, "dying", time.Now(), time.Minute)
		} else {
			c = expire(t, st, l, registry.JobKind, "dying")
		}
		if err != nil || c.ID != j.ID {
			t.Fatalf("claim %d = %+v, %v", i+1, c, err)
		}
		l = c.Lease()
		// What SyncRegistry does first; then the worker dies.
		if err := st.SetRegistryStatus(ctx, reg.ID, inventory.RegistrySyncing, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Heartbeat(ctx, l, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: slog.New(slog.DiscardHandler), MaxAttempts: maxAttempts})
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(registry.JobKind, func(context.Context, jobs.Job) error {
		t.Error("the runner ran a job past its attempts")
		return nil
	})
	r.HandleAbandoned(registry.JobKind, syncer.Abandon)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := r.RunUntilIdle(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == jobs.Failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job never given up: %+v", got)
		}
		time.Sleep(time.Millisecond) // the store's clock passes the lease
	}
	got, err := st.GetJob(ctx, j.ID)
	if err != nil || got.State != jobs.Failed || got.Error == "" {
		t.Fatalf("given-up job = %+v, %v", got, err)
	}
	c, err := st.GetRegistry(ctx, "p1", reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != inventory.RegistryFailed || !strings.Contains(c.FailReason, "abandoned") {
		t.Fatalf("connection after the sync was given up: status %q, fail_reason %q", c.Status, c.FailReason)
	}
	if c, _ := st.GetRegistry(ctx, "p1", done.ID); c.Status != inventory.RegistryOK || c.LatestSyncTime != 1234 {
		t.Fatalf("a connection the job had synced was changed: %+v", c)
	}
}

// testConcurrentClaims has workers on two handles claim until the queue is
// empty: every job must be claimed exactly once.
func testConcurrentClaims(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
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
				if err := st.Finish(ctx, j.Lease(), "", t0); err != nil {
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
func testConcurrentEnqueue(t *testing.T, open func(t *testing.T) jobs.Store, _ JobsOptions) {
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
