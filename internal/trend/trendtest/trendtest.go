// Package trendtest is the shared suite of the Overview's daily snapshots
// (trend.Store, trend.Reader): every store runs it, so the embedded and
// the scale-out store keep one set of semantics.
package trendtest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/trend"
)

// Store is what the suite needs: the snapshot methods under test, the
// inventory to make rows with and the scan results that give rows a
// status and findings.
type Store interface {
	trend.Store
	trend.Reader
	inventory.Store
	scanresult.Store
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
	Close() error
}

// Run runs the suite. newDB makes a new, empty database and returns how
// to open a handle on it; two handles on one database are two servers
// sharing it (the suite closes them).
func Run(t *testing.T, newDB func(t *testing.T) func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"PutAndPoints", testPutAndPoints},
		{"FirstSnapshotOfADayStays", testFirstStays},
		{"ReplaceOnlyStale", testReplaceStale},
		{"PendingScopes", testPending},
		{"PendingStaleScopes", testPendingStale},
		{"RefreshToday", testRefreshToday},
		{"Prune", testPrune},
		{"SnapshotCountsAsTheOverview", testSnapshotCounts},
		{"CountIsTheListTotals", testCountIsTheListTotals},
		{"TwoServersOneRow", testTwoServers},
		{"TwoServersRefreshOnce", testTwoServersRefresh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newDB(t)
			e := &env{t: t, ctx: context.Background(), open: func() Store {
				st := open(t)
				t.Cleanup(func() {
					if err := st.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
				})
				return st
			}}
			e.st = e.open()
			tc.fn(t, e)
		})
	}
}

type env struct {
	t    *testing.T
	ctx  context.Context
	st   Store
	open func() Store
}

// day is an arbitrary UTC day of the tests (2026-12-07).
var day = trend.Day(time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC))

func figures(n int64) trend.Figures {
	f := trend.Figures{Images: n, Scanned: n + 1, Failed: n + 2, Unscanned: n + 3}
	for i := range f.Findings {
		f.Findings[i] = trend.Tally{Findings: n * int64(10+i), Fixable: n * int64(i+1)}
	}
	return f
}

func add(a, b trend.Figures) trend.Figures {
	out := trend.Figures{Images: a.Images + b.Images, Scanned: a.Scanned + b.Scanned, Failed: a.Failed + b.Failed,
		Unscanned: a.Unscanned + b.Unscanned}
	for i := range out.Findings {
		out.Findings[i] = trend.Tally{Findings: a.Findings[i].Findings + b.Findings[i].Findings,
			Fixable: a.Findings[i].Fixable + b.Findings[i].Fixable}
	}
	return out
}

func (e *env) put(st Store, project, ep string, d int64, f trend.Figures) bool {
	e.t.Helper()
	return e.putAt(st, project, ep, d, d*86400000, 0, f)
}

// putAt stores a snapshot of day d taken at takenAt (ms), replacing one
// taken before replaceBefore.
func (e *env) putAt(st Store, project, ep string, d, takenAt, replaceBefore int64, f trend.Figures) bool {
	e.t.Helper()
	ok, err := st.PutTrendSnapshot(e.ctx, trend.Snapshot{Scope: trend.Scope{ProjectID: project, EnterpriseProjectID: ep},
		Day: d, TakenAt: takenAt, Figures: f}, replaceBefore)
	if err != nil {
		e.t.Fatalf("PutTrendSnapshot(%s/%s, %d): %v", project, ep, d, err)
	}
	return ok
}

// ms is the time h hours into day d, in ms.
func ms(d int64, h time.Duration) int64 {
	return inventory.Millis(trend.Date(d).Add(h))
}

func (e *env) points(project string, eps []string, from, to int64) []trend.Point {
	e.t.Helper()
	got, err := e.st.TrendPoints(e.ctx, project, eps, from, to)
	if err != nil {
		e.t.Fatalf("TrendPoints(%s, %v): %v", project, eps, err)
	}
	if got == nil {
		e.t.Fatalf("TrendPoints(%s, %v) = nil, want an empty slice", project, eps)
	}
	return got
}

func (e *env) pending(d int64) []trend.Scope {
	e.t.Helper()
	return e.pendingStale(d, 0)
}

func (e *env) pendingStale(d, staleBefore int64) []trend.Scope {
	e.t.Helper()
	got, err := e.st.PendingTrendScopes(e.ctx, d, staleBefore)
	if err != nil {
		e.t.Fatalf("PendingTrendScopes(%d): %v", d, err)
	}
	return got
}

func testPutAndPoints(t *testing.T, e *env) {
	e.put(e.st, "p1", "A", day, figures(1))
	e.put(e.st, "p1", "B", day, figures(2))
	e.put(e.st, "p1", "A", day+2, figures(3))
	e.put(e.st, "p1", "A", day-40, figures(4))
	e.put(e.st, "p2", "A", day, figures(5))
	for _, tc := range []struct {
		name     string
		project  string
		eps      []string
		from, to int64
		want     []trend.Point
	}{
		{"both enterprise projects, a day without a snapshot absent", "p1", []string{"A", "B"}, day - 29, day + 5,
			[]trend.Point{{Day: day, Figures: add(figures(1), figures(2))}, {Day: day + 2, Figures: figures(3)}}},
		{"one enterprise project", "p1", []string{"B"}, day - 29, day + 5, []trend.Point{{Day: day, Figures: figures(2)}}},
		{"every enterprise project", "p1", nil, day - 29, day + 1, []trend.Point{{Day: day, Figures: add(figures(1), figures(2))}}},
		{"the range's bounds", "p1", []string{"A"}, day - 40, day, []trend.Point{{Day: day - 40, Figures: figures(4)}, {Day: day, Figures: figures(1)}}},
		{"no enterprise project", "p1", []string{}, day - 29, day + 5, nil},
		{"an enterprise project without snapshots", "p1", []string{"C"}, day - 29, day + 5, nil},
		{"another project", "p2", nil, day - 29, day + 5, []trend.Point{{Day: day, Figures: figures(5)}}},
		{"unstorable", "p1\x00", nil, day - 29, day + 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.points(tc.project, tc.eps, tc.from, tc.to)
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func testFirstStays(t *testing.T, e *env) {
	if !e.put(e.st, "p1", "A", day, figures(1)) {
		t.Fatal("first snapshot of the day not stored")
	}
	if e.put(e.st, "p1", "A", day, figures(7)) {
		t.Fatal("second snapshot of the day stored")
	}
	if got := e.points("p1", nil, day, day); len(got) != 1 || got[0].Figures != figures(1) {
		t.Fatalf("got %+v, want the first snapshot's figures %+v", got, figures(1))
	}
	if !e.put(e.st, "p1", "A", day+1, figures(7)) {
		t.Fatal("next day's snapshot not stored")
	}
}

// testReplaceStale: a snapshot of a day is replaced only by a write whose
// replaceBefore is after the stored one's time, with every figure, and
// the day keeps one row.
func testReplaceStale(t *testing.T, e *env) {
	if !e.putAt(e.st, "p1", "A", day, ms(day, 9*time.Hour), 0, figures(1)) {
		t.Fatal("first snapshot of the day not stored")
	}
	for _, tc := range []struct {
		name          string
		replaceBefore int64
	}{
		{"never (0)", 0},
		{"stored at replaceBefore", ms(day, 9*time.Hour)},
		{"stored after replaceBefore", ms(day, 8*time.Hour)},
	} {
		if e.putAt(e.st, "p1", "A", day, ms(day, 10*time.Hour), tc.replaceBefore, figures(7)) {
			t.Fatalf("%s: fresh snapshot replaced", tc.name)
		}
		if got := e.points("p1", nil, day, day); len(got) != 1 || got[0].Figures != figures(1) {
			t.Fatalf("%s: got %+v, want the first snapshot's figures %+v", tc.name, got, figures(1))
		}
	}
	if !e.putAt(e.st, "p1", "A", day, ms(day, 10*time.Hour), ms(day, 9*time.Hour)+1, figures(7)) {
		t.Fatal("stale snapshot not replaced")
	}
	if got := e.points("p1", nil, day, day); len(got) != 1 || got[0].Figures != figures(7) {
		t.Fatalf("after the replacement: %+v, want %+v", got, figures(7))
	}
	// The replacement's time is the stored one: a write stale against
	// 09:00 no longer replaces it.
	if e.putAt(e.st, "p1", "A", day, ms(day, 11*time.Hour), ms(day, 9*time.Hour)+1, figures(8)) {
		t.Fatal("replaced again against the first snapshot's time")
	}
}

func testPending(t *testing.T, e *env) {
	if got := e.pending(day); len(got) != 0 {
		t.Fatalf("empty store: %+v", got)
	}
	if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	// p1's images in enterprise project A; a connection without images in
	// B; yesterday's snapshots of C (with images, since emptied) and D
	// (already 0).
	a := e.registry("p1", "A", "a.example")
	e.registry("p1", "B", "b.example")
	e.sync(a, "app", "1")
	e.put(e.st, "p1", "C", day-1, figures(1))
	e.put(e.st, "p1", "D", day-1, trend.Figures{})
	want := []trend.Scope{{ProjectID: "p1", EnterpriseProjectID: "A"}, {ProjectID: "p1", EnterpriseProjectID: "B"},
		{ProjectID: "p1", EnterpriseProjectID: "C"}}
	if got := e.pending(day); !reflect.DeepEqual(got, want) {
		t.Fatalf("pending: %+v\nwant %+v", got, want)
	}
	e.put(e.st, "p1", "A", day, figures(1))
	if got := e.pending(day); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("after A's snapshot: %+v\nwant %+v", got, want[1:])
	}
}

// testPendingStale: with staleBefore, the scopes whose snapshot of the day
// was taken before it are pending again, and so is one whose stale
// snapshot counted images it no longer has; an empty scope's stale zero
// snapshot is not, also when it records a drop from the day before.
func testPendingStale(t *testing.T, e *env) {
	if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	a := e.registry("p1", "A", "a.example")
	e.registry("p1", "B", "b.example")
	e.sync(a, "app", "1")
	// A at 09:00, B at 11:00; C counted images at 09:00 and has none
	// now; D was empty at 09:00 and still is; E counted images yesterday
	// and its drop to 0 was recorded at 09:00 (done: not recounted).
	e.putAt(e.st, "p1", "A", day, ms(day, 9*time.Hour), 0, figures(1))
	e.putAt(e.st, "p1", "B", day, ms(day, 11*time.Hour), 0, figures(1))
	e.putAt(e.st, "p1", "C", day, ms(day, 9*time.Hour), 0, figures(1))
	e.putAt(e.st, "p1", "D", day, ms(day, 9*time.Hour), 0, trend.Figures{})
	e.putAt(e.st, "p1", "E", day-1, ms(day-1, 9*time.Hour), 0, figures(1))
	e.putAt(e.st, "p1", "E", day, ms(day, 9*time.Hour), 0, trend.Figures{})
	for _, tc := range []struct {
		name        string
		staleBefore int64
		want        []string
	}{
		{"no refresh", 0, nil},
		{"09:00 is not before 09:00", ms(day, 9*time.Hour), nil},
		{"09:00 is stale at 10:00", ms(day, 10*time.Hour), []string{"A", "C"}},
		{"both stale at noon", ms(day, 12*time.Hour), []string{"A", "B", "C"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []trend.Scope
			for _, ep := range tc.want {
				want = append(want, trend.Scope{ProjectID: "p1", EnterpriseProjectID: ep})
			}
			if got := e.pendingStale(day, tc.staleBefore); len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("pending: %+v\nwant %+v", got, want)
			}
		})
	}
}

// testRefreshToday: a Snapshotter with Refresh recounts today's snapshot
// once it is Refresh old, so today's point follows the images; a past
// day's point never changes, however old its snapshot.
func testRefreshToday(t *testing.T, e *env) {
	a, _, _ := e.world()
	// Yesterday's snapshot of p1/A, taken at the start of yesterday.
	e.putAt(e.st, "p1", "A", day-1, ms(day-1, 0), 0, figures(9))
	now := trend.Date(day).Add(9 * time.Hour)
	s, err := trend.New(trend.Options{Store: e.st, Refresh: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	take := func(want int) {
		t.Helper()
		if d, n, err := s.Take(e.ctx); err != nil || d != day || n != want {
			t.Fatalf("Take at %s: day %d, %d stored, %v; want day %d, %d stored", now.Format(time.TimeOnly), d, n, err,
				day, want)
		}
	}
	images := func() int64 {
		t.Helper()
		got := e.points("p1", []string{"A"}, day-1, day)
		if len(got) != 2 || got[0].Figures != figures(9) {
			t.Fatalf("p1/A: %+v, want yesterday's snapshot %+v unchanged and today's", got, figures(9))
		}
		return got[1].Images
	}
	take(3)
	if got := images(); got != 3 {
		t.Fatalf("today's first snapshot counted %d images of p1/A, want 3", got)
	}
	// A fourth image in p1/A.
	e.sync(a, "app", "1", "2", "3", "4")
	now = now.Add(59 * time.Minute)
	take(0)
	if got := images(); got != 3 {
		t.Fatalf("refreshed before the interval: %d images, want 3", got)
	}
	now = now.Add(2 * time.Minute)
	take(3)
	c, err := trend.Count(e.ctx, e.st, "p1", []string{"A"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.points("p1", []string{"A"}, day, day); len(got) != 1 || got[0].Figures != c.Figures || c.Images != 4 {
		t.Fatalf("refreshed p1/A: %+v, want the count now %+v (4 images)", got, c.Figures)
	}
	images()
	// The next day: yesterday's snapshot (the day above) stays as last
	// refreshed, whatever changes.
	e.sync(a, "app", "1")
	now = trend.Date(day + 1).Add(5 * time.Hour)
	if _, _, err := s.Take(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.points("p1", []string{"A"}, day, day); len(got) != 1 || got[0].Figures != c.Figures {
		t.Fatalf("past day changed: %+v, want %+v", got, c.Figures)
	}
}

func testPrune(t *testing.T, e *env) {
	for _, d := range []int64{day - 401, day - 400, day - 399, day} {
		e.put(e.st, "p1", "A", d, figures(1))
	}
	n, err := e.st.PruneTrend(e.ctx, day-400)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("pruned %d rows, want 1", n)
	}
	got := e.points("p1", nil, day-1000, day)
	if len(got) != 3 || got[0].Day != day-400 {
		t.Fatalf("after prune: %+v", got)
	}
}

func (e *env) registry(project, ep, addr string) inventory.Registry {
	e.t.Helper()
	r, err := e.st.CreateRegistry(e.ctx, inventory.Registry{ProjectID: project, EnterpriseProjectID: ep, Name: addr,
		Type: inventory.Harbor, Protocol: "https", Addr: addr})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// sync gives the connection lib/name:tag, one digest per name and tag.
func (e *env) sync(r inventory.Registry, name string, tags ...string) {
	e.t.Helper()
	var refs []inventory.TagRef
	var ms []inventory.Manifest
	for _, tg := range tags {
		d := storetest.Digest(name + ":" + tg)
		refs = append(refs, inventory.TagRef{Tag: tg, Digest: d, ManifestDigest: d})
		ms = append(ms, inventory.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 100, Created: 1000, Platform: "linux/amd64", Scannable: true})
	}
	if _, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: r.ID, SeenAt: 1, Manifests: ms,
		Repositories: []inventory.RepoSnapshot{{Namespace: "lib", Name: name, Tags: refs}}}); err != nil {
		e.t.Fatalf("ApplySync: %v", err)
	}
}

// world is p1 with enterprise projects A (three images: one scanned with
// findings, one failed, one unscanned) and B (one scanned image with
// findings), and p2 with one image in A. It returns the connections of
// p1/A, p1/B and p2/A.
func (e *env) world() (a, b, c inventory.Registry) {
	e.t.Helper()
	for _, p := range []string{"p1", "p2"} {
		if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: p}); err != nil {
			e.t.Fatal(err)
		}
	}
	a, b, c = e.registry("p1", "A", "a.example"), e.registry("p1", "B", "b.example"), e.registry("p2", "A", "a.example")
	e.sync(a, "app", "1", "2", "3")
	e.sync(b, "web", "1")
	e.sync(c, "app", "1")
	save := func(d string, fs []scanresult.Finding) {
		e.t.Helper()
		sb := scanresult.SBOM{Digest: d, ScannedAt: 5000, Packages: []scanresult.Package{{Name: "openssl", Version: "1",
			Ecosystem: "Debian:12", Type: "dpkg", Path: "var/lib/dpkg/status"}}}
		r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5000, VulNum: scanresult.DistinctVulns(fs)}
		if err := e.st.SaveScan(e.ctx, sb, fs, r); err != nil {
			e.t.Fatalf("SaveScan: %v", err)
		}
	}
	save(storetest.Digest("app:1"), []scanresult.Finding{
		{VulnID: "CVE-1", Severity: "CRITICAL", FixedVersion: "2"},
		{VulnID: "CVE-2", Severity: "HIGH"},
	})
	save(storetest.Digest("web:1"), []scanresult.Finding{{VulnID: "CVE-3", Severity: "LOW", FixedVersion: "3"}})
	if err := e.st.SetScanResult(e.ctx, storetest.Digest("app:2"), inventory.ScanResult{Status: inventory.ScanFailed,
		ScanTime: 5000, FailedDesc: "broken"}); err != nil {
		e.t.Fatal(err)
	}
	return a, b, c
}

func testSnapshotCounts(t *testing.T, e *env) {
	e.world()
	now := trend.Date(day).Add(9 * time.Hour)
	s, err := trend.New(trend.Options{Store: e.st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	d, n, err := s.Take(e.ctx)
	if err != nil || d != day || n != 3 {
		t.Fatalf("Take: day %d, %d taken, %v; want day %d, 3 taken", d, n, err, day)
	}
	for _, tc := range []struct {
		project string
		eps     []string
	}{
		{"p1", []string{"A"}},
		{"p1", []string{"B"}},
		{"p1", []string{"A", "B"}},
		{"p2", []string{"A"}},
	} {
		c, err := trend.Count(e.ctx, e.st, tc.project, tc.eps)
		if err != nil {
			t.Fatal(err)
		}
		got := e.points(tc.project, tc.eps, day-29, day)
		if len(got) != 1 || got[0].Figures != c.Figures {
			t.Errorf("%s %v: snapshots %+v, want the Overview's count %+v", tc.project, tc.eps, got, c.Figures)
		}
	}
	// The figures themselves, so that a count and a snapshot both wrong
	// the same way still fail.
	want := trend.Figures{Images: 3, Scanned: 1, Failed: 1, Unscanned: 1}
	want.Findings[trend.Critical] = trend.Tally{Findings: 1, Fixable: 1}
	want.Findings[trend.High] = trend.Tally{Findings: 1}
	if got := e.points("p1", []string{"A"}, day, day); len(got) != 1 || got[0].Figures != want {
		t.Fatalf("p1/A: %+v, want %+v", got, want)
	}
	// A second pass the same day stores nothing.
	if _, n, err := s.Take(e.ctx); err != nil || n != 0 {
		t.Fatalf("second Take: %d taken, %v", n, err)
	}
}

// testTwoServers has two handles on one database, two servers, take the
// same day's snapshots at once: each scope is stored once.
func testTwoServers(t *testing.T, e *env) {
	e.world()
	other := e.open()
	now := trend.Date(day).Add(time.Hour)
	var snaps []*trend.Snapshotter
	for _, st := range []Store{e.st, other} {
		s, err := trend.New(trend.Options{Store: st, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	takeAtOnce(t, e, snaps, "stored")
	c, err := trend.Count(e.ctx, e.st, "p1", []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	e.dayIsOnEvery(t, []Store{e.st, other}, c.Figures)
	if got := e.pending(day); len(got) != 0 {
		t.Fatalf("still pending after both servers: %+v", got)
	}
}

// takeAtOnce has snaps, servers on one database, Take at once and
// requires one snapshot per scope of the three e.world makes, in all
// (done: stored or replaced).
func takeAtOnce(t *testing.T, e *env, snaps []*trend.Snapshotter, done string) {
	t.Helper()
	var wg sync.WaitGroup
	taken := make([]int, len(snaps))
	errs := make([]error, len(snaps))
	for i, s := range snaps {
		wg.Go(func() { _, taken[i], errs[i] = s.Take(e.ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Take: %v", err)
	}
	n := 0
	for _, k := range taken {
		n += k
	}
	if n != 3 {
		t.Fatalf("servers %s %v snapshots, want 3 in all (one per scope)", done, taken)
	}
}

// dayIsOnEvery requires each of stores to read day's point of p1 as want.
func (e *env) dayIsOnEvery(t *testing.T, stores []Store, want trend.Figures) {
	t.Helper()
	for _, st := range stores {
		got, err := st.TrendPoints(e.ctx, "p1", nil, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Figures != want {
			t.Fatalf("p1: %+v, want one day of %+v", got, want)
		}
	}
}

// testTwoServersRefresh: two servers with Refresh recount the day's
// snapshots at once: each scope's row is replaced once, by one of them,
// and the day's sum is the count, not twice it.
func testTwoServersRefresh(t *testing.T, e *env) {
	a, b, _ := e.world()
	other := e.open()
	now := trend.Date(day).Add(time.Hour)
	var snaps []*trend.Snapshotter
	for _, st := range []Store{e.st, other} {
		s, err := trend.New(trend.Options{Store: st, Refresh: time.Hour, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	if _, n, err := snaps[0].Take(e.ctx); err != nil || n != 3 {
		t.Fatalf("first Take: %d stored, %v", n, err)
	}
	e.sync(a, "app", "1", "2", "3", "4", "5")
	e.sync(b, "web", "1", "2", "3", "4", "5")
	now = now.Add(90 * time.Minute)
	takeAtOnce(t, e, snaps, "replaced")
	c, err := trend.Count(e.ctx, e.st, "p1", []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Images != 10 {
		t.Fatalf("count of p1: %d images, want 10", c.Images)
	}
	e.dayIsOnEvery(t, []Store{e.st, other}, c.Figures)
	// Both fresh now: a third pass of either stores nothing.
	for i, s := range snaps {
		if _, n, err := s.Take(e.ctx); err != nil || n != 0 {
			t.Fatalf("server %d again: %d stored, %v", i, n, err)
		}
	}
}
