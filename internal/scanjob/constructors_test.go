package scanjob_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/vulndb"
)

// The constructors the fixtures use, failing t when one refuses its
// options.

func newService(t testing.TB, o scanjob.Options) *scanjob.Service {
	t.Helper()
	svc, err := scanjob.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newVulnDB(t testing.TB, st vulndb.Store) *vulndb.DB {
	t.Helper()
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newSyncer syncs through rt, quietly.
func newSyncer(t testing.TB, st interface {
	registry.SyncStore
	registry.Queue
}, box *secret.Box, rt http.RoundTripper) *registry.Syncer {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	l, err := registry.NewLister(registry.ListerOptions{Transport: rt, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s, err := registry.NewSyncer(registry.SyncerOptions{Store: st, Queue: st, Box: box, Lister: l, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newRunner is a quiet runner over st polling every 10 ms, with lease
// (0: the default).
func newRunner(t testing.TB, st jobs.Store, lease time.Duration) *jobs.Runner {
	t.Helper()
	r, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// New and NewScanAll refuse a missing dependency: without this check a
// service built without its scanner or box failed each scan job at run
// time, and the route that queued it had long answered 200.
func TestNewRefusesMissingDependencies(t *testing.T) {
	reg := registrytest.New(t)
	e := newEnv(t, reg, envConfig{noVulnData: true})
	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()})
	full := scanjob.Options{Store: e.store, Scanner: sc, Matcher: e.db, Box: e.box}
	for _, tc := range []struct {
		name string
		edit func(o *scanjob.Options)
		ok   bool
	}{
		{"no store", func(o *scanjob.Options) { o.Store = nil }, false},
		{"no scanner", func(o *scanjob.Options) { o.Scanner = nil }, false},
		{"no matcher", func(o *scanjob.Options) { o.Matcher = nil }, false},
		{"no box", func(o *scanjob.Options) { o.Box = nil }, false},
		{"negative timeout", func(o *scanjob.Options) { o.Timeout = -time.Second }, false},
		{"all", func(*scanjob.Options) {}, true},
	} {
		o := full
		tc.edit(&o)
		svc, err := scanjob.New(o)
		if tc.ok != (err == nil) || tc.ok != (svc != nil) {
			t.Errorf("New, %s: %v, %v; want ok=%v", tc.name, svc, err, tc.ok)
		}
	}
	svc := newService(t, full)
	for _, tc := range []struct {
		name string
		o    scanjob.ScanAllOptions
		ok   bool
	}{
		{"no service", scanjob.ScanAllOptions{Lister: e.store}, false},
		{"no lister", scanjob.ScanAllOptions{Service: svc}, false},
		{"negative page", scanjob.ScanAllOptions{Service: svc, Lister: e.store, Page: -1}, false},
		{"both", scanjob.ScanAllOptions{Service: svc, Lister: e.store}, true},
	} {
		a, err := scanjob.NewScanAll(tc.o)
		if tc.ok != (err == nil) || tc.ok != (a != nil) {
			t.Errorf("NewScanAll, %s: %v, %v; want ok=%v", tc.name, a, err, tc.ok)
		}
	}
}
