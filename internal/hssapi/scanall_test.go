package hssapi_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanjob"
)

// listCounting counts the list queries the API makes of the real store.
type listCounting struct {
	hssapi.Store
	lists *atomic.Int64
}

func (s listCounting) ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error) {
	s.lists.Add(1)
	return s.Store.ListImages(ctx, f)
}

// runScanAll runs the queued scan-all jobs as a worker would, and reports
// how many it ran.
func runScanAll(t *testing.T, e *testEnv) int {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	svc := newScanService(t, e.store, e.box, nil, quiet)
	r := newRunner(t, e.store, quiet)
	var ran int
	all := newScanAll(t, svc, e.store, 700, 300) // pages and batches that do not divide the rows
	r.Handle(scanjob.ScanAllKind, func(ctx context.Context, j jobs.Job) error {
		ran++
		return all.Handle(ctx, j)
	})
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ran
}

// scanJobKeys returns how often each digest has a scan job. Job ids count
// up from 1 with no gaps in a test store, so reading them one by one sees
// every job (reads only: claiming each would cost two write transactions).
func scanJobKeys(t *testing.T, e *testEnv) map[string]int {
	t.Helper()
	keys := map[string]int{}
	for id := int64(1); ; id++ {
		j, err := e.store.GetJob(context.Background(), id)
		if errors.Is(err, inventory.ErrNotFound) {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind == scanjob.JobKind {
			// A scan job is keyed by project and digest; every job here is
			// the one project's.
			d, ok := strings.CutPrefix(j.Key, j.ProjectID+"/")
			if !ok {
				t.Fatalf("scan job %d: key %q is not a key of project %s", j.ID, j.Key, j.ProjectID)
			}
			keys[d]++
		}
	}
}

// batch-scan with operate_all over a large project answers after queueing
// one job, whatever the number of rows (it took 133 s for 100,000 rows,
// past the server's 60 s write timeout, listing and queueing every row
// while the client waited); the job then queues the scan of every
// scannable image once.
func TestBatchScanAllAnswersBeforeListing(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and queues 20,000 rows")
	}
	var lists atomic.Int64
	e := newEnv(t, func(c *hssapi.Config) {
		c.Store = listCounting{Store: c.Store, lists: &lists}
	})
	ctx := context.Background()
	const rows = 20_000
	if _, err := benchseed.Seed(ctx, e.store, benchseed.Spec{ProjectID: projA, Rows: rows, Namespaces: 20, Repos: 2_000},
		rand.New(rand.NewPCG(9, 9))); err != nil {
		t.Fatal(err)
	}
	// What the job must queue: one scan per manifest digest of the
	// project's scannable private images, read straight from the store.
	want := map[string]bool{}
	for f := (inventory.Filter{ProjectID: projA, Type: inventory.PrivateImage, Limit: 5000}); ; f.Offset += f.Limit {
		page, err := e.store.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range page.Images {
			if img.Scannable || img.ScanStatus == inventory.ImageOversized {
				d := img.ManifestDigest
				if d == "" {
					d = img.Digest
				}
				want[d] = true
			}
		}
		if len(page.Images) < f.Limit {
			break
		}
	}
	if len(want) < rows/2 {
		t.Fatalf("seeded %d scannable digests, want most of %d rows", len(want), rows)
	}

	r := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/batch-scan",
		Body: jsonBody(t, map[string]any{"image_type": "private_image", "operate_all": true})})
	if r.Status != http.StatusOK {
		t.Fatalf("operate_all: %d %s", r.Status, r.Raw)
	}
	if n := lists.Load(); n != 0 {
		t.Fatalf("the request listed rows %d times before answering, want none", n)
	}
	if got := scanJobKeys(t, e); len(got) != 0 {
		t.Fatalf("the request queued %d scans itself, want one scan-all job", len(got))
	}
	// Asked again before a worker ran: a second task, so a second scan-all
	// job (each lists its task's items), whose scans join the first's.
	if r := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/batch-scan",
		Body: jsonBody(t, map[string]any{"image_type": "private_image", "operate_all": true})}); r.Status != http.StatusOK {
		t.Fatalf("second operate_all: %d %s", r.Status, r.Raw)
	}
	if n := runScanAll(t, e); n != 2 {
		t.Fatalf("%d scan-all jobs ran, want 2 (one per task)", n)
	}
	got := scanJobKeys(t, e)
	for d, n := range got {
		if n != 1 || !want[d] {
			t.Fatalf("digest %s queued %d times (scannable: %v)", d, n, want[d])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("queued %d scans, want %d (one per scannable digest)", len(got), len(want))
	}
}
