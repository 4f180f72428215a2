package hssapi_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// The services a test server is built from, as cmd/openhss builds them,
// each failing t when its constructor refuses its options.

// newScanService is a scan service over st with the bare scanner and an
// empty vulnerability database, pulling through rt.
func newScanService(t testing.TB, st *sqlite.Store, box *secret.Box, rt http.RoundTripper, log *slog.Logger, analyzers ...scanner.Analyzer) *scanjob.Service {
	t.Helper()
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir(), Analyzers: analyzers, Logger: log})
	svc, err := scanjob.New(scanjob.Options{Store: st, Scanner: sc, Matcher: db, Box: box, Transport: rt, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// newRequester is cmd/openhss's scan requester over svc, listing scan-all
// rows with st; page and batch of the scan-all job are its defaults when 0.
func newRequester(t testing.TB, svc *scanjob.Service, st scanjob.ImageLister, page, batch int) scanjob.Requester {
	t.Helper()
	return newScanAll(t, svc, st, page, batch).Requester()
}

// newScanAll is the scan-all queue of svc, listing rows with st.
func newScanAll(t testing.TB, svc *scanjob.Service, st scanjob.ImageLister, page, batch int) *scanjob.ScanAll {
	t.Helper()
	all, err := scanjob.NewScanAll(scanjob.ScanAllOptions{Service: svc, Lister: st, Page: page, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func newSyncer(t testing.TB, st *sqlite.Store, box *secret.Box, rt http.RoundTripper, log *slog.Logger) *registry.Syncer {
	t.Helper()
	l, err := registry.NewLister(registry.ListerOptions{Transport: rt, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s, err := registry.NewSyncer(registry.SyncerOptions{Store: st, Queue: st, Box: box, Lister: l, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newRunner is a runner over st polling every 10 ms.
func newRunner(t testing.TB, st jobs.Store, log *slog.Logger) *jobs.Runner {
	t.Helper()
	r, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: log, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newHandler(t testing.TB, cfg hssapi.Config) http.Handler {
	t.Helper()
	h, err := hssapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// New refuses a Config without one of its dependencies: before, a server
// without Sync, Scans, ScanResults or Findings started and answered 500 on
// those routes, and one without Store, IAM or Box panicked on its first
// request.
func TestNewRefusesMissingDependencies(t *testing.T) {
	var full hssapi.Config
	newEnv(t, func(c *hssapi.Config) { full = *c })
	full.Registerer = nil // a fresh registry each time: the env's holds its server's metrics
	if _, err := hssapi.New(full); err != nil {
		t.Fatalf("complete config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *hssapi.Config)
	}{
		{"Store", func(c *hssapi.Config) { c.Store = nil }},
		{"IAM", func(c *hssapi.Config) { c.IAM = nil }},
		{"Box", func(c *hssapi.Config) { c.Box = nil }},
		{"Sync", func(c *hssapi.Config) { c.Sync = nil }},
		{"Scans", func(c *hssapi.Config) { c.Scans = nil }},
		{"ScanResults", func(c *hssapi.Config) { c.ScanResults = nil }},
		{"Findings", func(c *hssapi.Config) { c.Findings = nil }},
	} {
		c := full
		tc.edit(&c)
		if h, err := hssapi.New(c); err == nil {
			t.Errorf("without %s: New = %v, want an error", tc.name, h)
		}
	}
}
