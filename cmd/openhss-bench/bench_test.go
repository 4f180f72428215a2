package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlite"
)

func smallOptions(t *testing.T) listOptions {
	o := defaultListOptions()
	o.Rows, o.Namespaces, o.Repos = 2000, 4, 100
	o.Iterations, o.Warmup, o.DeepOffset = 5, 1, 500
	o.Namespace, o.ImageName = "ns-01", "app-0001" // app-00010 … app-00019
	o.Clients, o.Duration, o.MaxRequests = 4, time.Second, 400
	o.Dir = t.TempDir()
	return o
}

// TestListSmall runs the whole benchmark at small scale. runList itself
// fails when a total or a page differs from the reference; the expected
// totals here follow from benchseed.Seed's layout.
func TestListSmall(t *testing.T) {
	o := smallOptions(t)
	rep, err := runList(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := 2 * len(o.filterSets()); len(rep.Queries) != n {
		t.Fatalf("%d query results, want %d", len(rep.Queries), n)
	}
	exact := map[string]int64{
		"type only":                       2000,
		"+ namespace":                     2000 / 4,   // 25 repositories of 20 tags
		"+ image_name":                    10 * 20,    // 10 repositories of 20 tags
		"+ latest_version=true":           int64(100), // one per repository
		"registry images, every type":     2000,
		"registry images, scan time asc":  2000,
		"registry images, scan time desc": 2000,
	}
	for _, q := range rep.Queries {
		if want, ok := exact[q.Name]; ok && q.Total != want {
			t.Errorf("%s: total_num %d, want %d", q.Name, q.Total, want)
		}
		if q.Total <= 0 {
			t.Errorf("%s: total_num %d, the seeded rows should match some", q.Name, q.Total)
		}
		wantRows := min(int64(o.Limit), max(0, q.Total-int64(q.Offset)))
		if int64(q.Returned) != wantRows || q.Calls != o.Iterations {
			t.Errorf("%s at %d: %d rows in %d calls, want %d rows in %d", q.Name, q.Offset, q.Returned, q.Calls, wantRows, o.Iterations)
		}
	}
	for name, r := range map[string]loadResult{"openhss": rep.HTTP.OpenHSS, "bare": rep.HTTP.Bare} {
		if r.Requests <= 0 || r.Requests > int64(o.MaxRequests) || r.RPS <= 0 {
			t.Errorf("%s: %d requests at %.0f/s, want 1..%d", name, r.Requests, r.RPS, o.MaxRequests)
		}
	}
	if rep.HTTP.ResponseBytes == 0 || rep.Machine.Cores == 0 {
		t.Errorf("empty report parts: %+v", rep)
	}
}

// TestListSmallUncached: with --uncached every warm-up and timed call
// follows a write to images, and the answers still match the reference.
func TestListSmallUncached(t *testing.T) {
	o := smallOptions(t)
	o.Uncached = true
	rep, err := runList(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range rep.Queries {
		if q.Writes != o.Warmup+o.Iterations {
			t.Errorf("%s at %d: %d writes, want %d", q.Name, q.Offset, q.Writes, o.Warmup+o.Iterations)
		}
	}
}

// TestListSmallPostgres runs the list benchmark on PostgreSQL
// (OPENHSS_TEST_POSTGRES, in a schema of its own), uncached: every answer
// is checked against the reference's count and order there.
func TestListSmallPostgres(t *testing.T) {
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES not set")
	}
	o := smallOptions(t)
	o.Postgres, o.Uncached = dsn, true
	rep, err := runList(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Engine != "postgres" || len(rep.Queries) != 2*len(o.filterSets()) || rep.HTTP.Clients != 0 {
		t.Fatalf("engine %s, %d query results, HTTP %+v", rep.Engine, len(rep.Queries), rep.HTTP)
	}
	for _, q := range rep.Queries {
		if q.Total <= 0 || q.Writes != o.Warmup+o.Iterations {
			t.Errorf("%s at %d: total_num %d, %d writes", q.Name, q.Offset, q.Total, q.Writes)
		}
	}
}

// TestFilterSubset: --filters picks filter sets by name, in their order.
func TestFilterSubset(t *testing.T) {
	o := defaultListOptions()
	o.Filters = []string{"registry_name", "type"}
	var names []string
	for _, fs := range o.filterSets() {
		names = append(names, fs.Key)
	}
	if !slices.Equal(names, []string{"type", "registry_name"}) {
		t.Fatalf("filter sets %v", names)
	}
	if len(filterKeys()) != 12 {
		t.Fatalf("%d filter sets, want the seed list's six and ListRegistryImages' six", len(filterKeys()))
	}
}

// TestReferenceCatchesWrongAnswers makes sure the check runList relies on
// can fail: a total off by one, a missing row, rows out of order.
func TestReferenceCatchesWrongAnswers(t *testing.T) {
	o := smallOptions(t)
	ctx := context.Background()
	st, ref, fs := seedSmall(t, o)
	page, err := st.ListImages(ctx, fs.filter(0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.check(ctx, fs, 0, 10, page); err != nil {
		t.Fatalf("the store's own answer: %v", err)
	}
	swapped := append([]inventory.Image{}, page.Images...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	for name, bad := range map[string]inventory.Page{
		"total off by one": {Total: page.Total + 1, Images: page.Images},
		"row missing":      {Total: page.Total, Images: page.Images[1:]},
		"rows swapped":     {Total: page.Total, Images: swapped},
	} {
		if err := ref.check(ctx, fs, 0, 10, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func seedSmall(t *testing.T, o listOptions) (*sqlite.Store, *reference, filterSet) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(o.Dir, "openhss.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	spec := benchseed.Spec{ProjectID: benchProject, Rows: o.Rows, Namespaces: o.Namespaces, Repos: o.Repos}
	if _, err := benchseed.Seed(ctx, st, spec, rand.New(rand.NewPCG(3, 4))); err != nil {
		t.Fatal(err)
	}
	ref, err := openReference(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	return st, ref, o.filterSets()[4] // scan_status: a count not served from image_repos
}
