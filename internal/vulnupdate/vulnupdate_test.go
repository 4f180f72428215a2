package vulnupdate_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
)

// countingRematch counts re-matches; the re-match itself is scanjob's,
// tested there.
type countingRematch struct{ n atomic.Int32 }

func (c *countingRematch) Rematch(context.Context) (scanjob.RematchStats, error) {
	c.n.Add(1)
	return scanjob.RematchStats{}, nil
}

func newUpdater(t *testing.T, baseURL string) (*vulnupdate.Updater, *sqlite.Store, *countingRematch) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rm := &countingRematch{}
	u, err := vulnupdate.New(vulnupdate.Options{DB: db, Rematch: rm, Queue: st, BaseURL: baseURL, Ecosystems: []string{"Debian"}})
	if err != nil {
		t.Fatal(err)
	}
	return u, st, rm
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    vulnupdate.Options
		want string
	}{
		{"no DB", vulnupdate.Options{Rematch: &countingRematch{}}, "Options.DB is required"},
		{"no Rematch", vulnupdate.Options{DB: &vulndb.DB{}}, "Options.Rematch is required"},
	} {
		if _, err := vulnupdate.New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestRun: what `openhss db update` does — the archives imported, then one
// re-match when records were written, none when nothing changed.
func TestRun(t *testing.T) {
	base, served := osvtestdata.Bucket(t, map[string]string{"Debian": "debian-12"})
	u, st, rm := newUpdater(t, base)
	ctx := context.Background()
	res, err := u.Run(ctx, "", nil)
	if err != nil || len(res) != 1 || res[0].Written == 0 || rm.n.Load() != 1 || served.Load() != 1 {
		t.Fatalf("first run: %+v, %v; %d re-matches, %d zips served", res, err, rm.n.Load(), served.Load())
	}
	vs, err := st.VulnStatus(ctx)
	if err != nil || vs.Records != res[0].Written || vs.LastImport == nil || !strings.HasSuffix(vs.LastImport.Source, "/Debian/all.zip") {
		t.Fatalf("status after the update: %+v, %v", vs, err)
	}
	if res, err = u.Run(ctx, "", nil); err != nil || res[0].Written != 0 || rm.n.Load() != 1 {
		t.Fatalf("second run: %+v, %v; %d re-matches, want no new one", res, err, rm.n.Load())
	}
	// A missing archive is an error naming it; the others still import.
	res, err = u.Run(ctx, base, []string{"Nope", "Debian"})
	if err == nil || !strings.Contains(err.Error(), "Nope") || len(res) != 1 {
		t.Fatalf("run with a missing ecosystem: %+v, %v", res, err)
	}
}

// TestJob: Update now's job — one at a time (a request while one is
// queued or running joins it), run by a worker, its state and a failure's
// error readable by the Settings page.
func TestJob(t *testing.T) {
	base, served := osvtestdata.Bucket(t, map[string]string{"Debian": "debian-12"})
	u, st, rm := newUpdater(t, base)
	ctx := context.Background()
	if _, found, err := u.Latest(ctx); found || err != nil {
		t.Fatalf("Latest before any request: found %v, %v", found, err)
	}
	first, joined, err := u.Request(ctx)
	if err != nil || joined {
		t.Fatalf("first request: joined %v, %v", joined, err)
	}
	if again, joined, err := u.Request(ctx); err != nil || !joined || again.ID != first.ID {
		t.Fatalf("second request while queued: %+v joined %v, %v; want job %d joined", again, joined, err, first.ID)
	}
	j, err := st.Claim(ctx, []string{vulnupdate.JobKind}, "w", time.Now(), time.Minute)
	if err != nil || j.ID != first.ID {
		t.Fatalf("Claim = %+v, %v", j, err)
	}
	if again, joined, err := u.Request(ctx); err != nil || !joined || again.ID != first.ID {
		t.Fatalf("request while running: %+v joined %v, %v", again, joined, err)
	}
	if l, _, _ := u.Latest(ctx); l.ID != first.ID || l.State != jobs.Running {
		t.Fatalf("Latest while running = %+v", l)
	}
	if err := u.Handle(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, j.Lease(), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if l, _, _ := u.Latest(ctx); l.ID != first.ID || l.State != jobs.Done || served.Load() != 1 || rm.n.Load() != 1 {
		t.Fatalf("Latest after the run = %+v; %d zips served, %d re-matches", l, served.Load(), rm.n.Load())
	}
	if vs, _ := st.VulnStatus(ctx); vs.Records == 0 {
		t.Fatal("the job imported nothing")
	}
	// Ended, a new request is a new job.
	second, joined, err := u.Request(ctx)
	if err != nil || joined || second.ID == first.ID {
		t.Fatalf("request after the end: %+v joined %v, %v", second, joined, err)
	}
	// The wrong kind is refused.
	if err := u.Handle(ctx, jobs.Job{ID: 1, Kind: "scan"}); err == nil {
		t.Fatal("Handle of a scan job succeeded")
	}
}

// TestRequestTooSoon: with MinInterval, a request within it of the end of
// the last finished update is refused and queues nothing; one at or after
// its end is taken; a failed update does not count.
func TestRequestTooSoon(t *testing.T) {
	base, _ := osvtestdata.Bucket(t, map[string]string{"Debian": "debian-12"})
	_, st, _ := newUpdater(t, base)
	ctx := context.Background()
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := t0
	u, err := vulnupdate.New(vulnupdate.Options{DB: db, Rematch: &countingRematch{}, Queue: st, BaseURL: base,
		Ecosystems: []string{"Debian"}, MinInterval: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// run claims the queued update and ends it at the current time, failed
	// with msg when msg is not empty.
	run := func(want int64, msg string) {
		t.Helper()
		j, err := st.Claim(ctx, []string{vulnupdate.JobKind}, "w", now, time.Minute)
		if err != nil || j.ID != want {
			t.Fatalf("claim = %+v, %v; want job %d", j, err, want)
		}
		if err := st.Finish(ctx, j.Lease(), msg, now); err != nil {
			t.Fatal(err)
		}
	}
	first, joined, err := u.Request(ctx)
	if err != nil || joined {
		t.Fatalf("first request: joined %v, %v", joined, err)
	}
	now = t0.Add(time.Minute)
	run(first.ID, "")
	for _, tc := range []struct {
		name string
		at   time.Duration // after the end of the update
	}{
		{"at once", 0},
		{"a minute before the end of the interval", 59 * time.Minute},
		{"a millisecond before it", time.Hour - time.Millisecond},
	} {
		now = t0.Add(time.Minute + tc.at)
		_, _, err := u.Request(ctx)
		var soon *vulnupdate.TooSoonError
		if !errors.As(err, &soon) || !soon.Next.Equal(t0.Add(61*time.Minute)) || !soon.Finished.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%s: %v, want a TooSoonError finished %v, next %v", tc.name, err, t0.Add(time.Minute), t0.Add(61*time.Minute))
		}
		if l, _, _ := u.Latest(ctx); l.ID != first.ID {
			t.Fatalf("%s: a refused request queued job %d", tc.name, l.ID)
		}
	}
	now = t0.Add(61 * time.Minute)
	second, joined, err := u.Request(ctx)
	if err != nil || joined || second.ID == first.ID {
		t.Fatalf("request at the end of the interval: %+v joined %v, %v", second, joined, err)
	}
	// A failed update may be retried at once.
	run(second.ID, "download failed")
	third, joined, err := u.Request(ctx)
	if err != nil || joined || third.ID == second.ID {
		t.Fatalf("request after a failure: %+v joined %v, %v", third, joined, err)
	}
}
