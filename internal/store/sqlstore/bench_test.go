package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// The image list benchmarks, on each engine, over a store seeded by
// benchseed.Seed: the filter sets the latency targets are stated for, and the
// measuring loops.

// benchProject is the project the bench rows belong to.
const benchProject = "bench-project"

// benchStores opens, per engine, a store of rows rows, seeding it on first
// use. With OPENHSS_BENCH_DB (SQLite: a file) or OPENHSS_BENCH_SCHEMA
// (PostgreSQL: a schema) set, the store is kept and reused across runs.
func benchStores() map[string]func(tb testing.TB, rows int) *sqlstore.Store {
	return map[string]func(tb testing.TB, rows int) *sqlstore.Store{
		"sqlite": func(tb testing.TB, rows int) *sqlstore.Store {
			path := os.Getenv("OPENHSS_BENCH_DB")
			if path == "" {
				path = filepath.Join(tb.TempDir(), "bench.db")
			}
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { s.Close() })
			seedBench(tb, s.Store, rows, path)
			return s.Store
		},
		"postgres": func(tb testing.TB, rows int) *sqlstore.Store {
			schema := os.Getenv("OPENHSS_BENCH_SCHEMA")
			s, err := postgres.Open(context.Background(), postgresSchemaNamed(tb, schema))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { s.Close() })
			seedBench(tb, s.Store, rows, "schema "+schema)
			return s.Store
		},
	}
}

// seedBench fills an opened bench store with rows rows, unless it already
// holds exactly that many (a store kept across runs); where is what to
// remove when it holds another number. The seed is logged so that a run
// can be repeated.
func seedBench(tb testing.TB, s *sqlstore.Store, rows int, where string) {
	tb.Helper()
	ctx := context.Background()
	p, err := s.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if p.Total == int64(rows) {
		return
	}
	if p.Total != 0 {
		tb.Fatalf("%s holds %d bench rows, want %d: remove it", where, p.Total, rows)
	}
	seed := uint64(time.Now().UnixNano())
	tb.Logf("seeding %d rows, seed %d", rows, seed)
	start := time.Now()
	spec := benchseed.Spec{ProjectID: benchProject, Rows: rows, Namespaces: 20, Repos: max(20, rows/100)}
	if _, err := benchseed.Seed(ctx, s, spec, rand.New(rand.NewPCG(seed, seed))); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d rows in %v", rows, time.Since(start))
}

// benchFilter is one filter set the list is measured with.
type benchFilter struct {
	name   string
	filter inventory.Filter
}

// benchFilters are the filter sets the list latency targets are stated for.
func benchFilters() []benchFilter {
	yes := true
	base := inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 10}
	with := func(mod func(*inventory.Filter)) inventory.Filter {
		f := base
		mod(&f)
		return f
	}
	return []benchFilter{
		{"type", base},
		{"namespace", with(func(f *inventory.Filter) { f.Namespace = "ns-07" })},
		{"image_name", with(func(f *inventory.Filter) { f.ImageName = "app-0042" })},
		{"has_vul", with(func(f *inventory.Filter) { f.HasVul = &yes })},
		{"scan_status", with(func(f *inventory.Filter) { f.ScanStatus = inventory.ScanFailed })},
		{"latest_version", with(func(f *inventory.Filter) { f.LatestVersionOnly = true })},
		// Beyond the targets: substrings matching many repositories.
		{"image_name_wide", with(func(f *inventory.Filter) { f.ImageName = "app-00" })},
		{"namespace_wide", with(func(f *inventory.Filter) { f.Namespace = "ns-1" })},
	}
}

// benchRows is the bench size: OPENHSS_BENCH_ROWS, default 100,000.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("OPENHSS_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkListImages measures the list over a seeded store of
// OPENHSS_BENCH_ROWS rows on each engine, for each filter set at offset 0
// and at offset rows/10.
func BenchmarkListImages(b *testing.B) {
	rows := benchRows()
	for engine, open := range benchStores() {
		b.Run(engine, func(b *testing.B) {
			s := open(b, rows)
			for _, offset := range []int{0, rows / 10} {
				for _, tc := range benchFilters() {
					b.Run(fmt.Sprintf("%s/offset=%d", tc.name, offset), func(b *testing.B) {
						f := tc.filter
						f.Offset = offset
						for b.Loop() {
							if _, err := s.ListImages(context.Background(), f); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

// TestListLatency reports the first (uncached count), median and p99
// latency of each filter set over OPENHSS_BENCH_ROWS rows on each engine.
// It only runs when OPENHSS_BENCH_ROWS is set: a default-sized store takes
// too long to seed for every test run.
func TestListLatency(t *testing.T) {
	if os.Getenv("OPENHSS_BENCH_ROWS") == "" {
		t.Skip("set OPENHSS_BENCH_ROWS to measure list latency")
	}
	for engine, open := range benchStores() {
		t.Run(engine, func(t *testing.T) {
			s := open(t, benchRows())
			const runs = 200
			for _, offset := range []int{0, 100_000} {
				for _, tc := range benchFilters() {
					f := tc.filter
					f.Offset = offset
					var ds []time.Duration
					var total int64
					for range runs {
						start := time.Now()
						p, err := s.ListImages(context.Background(), f)
						if err != nil {
							t.Fatal(err)
						}
						ds = append(ds, time.Since(start))
						total = p.Total
					}
					first := ds[0]
					slices.Sort(ds)
					t.Logf("%-15s offset=%-7d total=%-8d first=%-12v median=%-12v p99=%v",
						tc.name, offset, total, first, ds[len(ds)/2], ds[len(ds)*99/100])
				}
			}
		})
	}
}

// TestLoadImages checks the bulk loader leaves a store the list and the
// triggers agree on, on each engine: every row counted, one latest row per
// repository, and the indexes back in place for the writes that follow.
func TestLoadImages(t *testing.T) {
	for engine, open := range benchStores() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, 0) // empty: seeded below
			before, err := sqlstore.ImageIndexes(ctx, s)
			if err != nil || len(before) == 0 {
				t.Fatalf("indexes of images: %v, %v", before, err)
			}
			spec := benchseed.Spec{ProjectID: "bench", Rows: 3000, Namespaces: 4, Repos: 40}
			regID, err := benchseed.Seed(ctx, s, spec, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			base := inventory.Filter{ProjectID: "bench", Type: inventory.PrivateImage, Limit: 1 << 20}
			all, err := s.ListImages(ctx, base)
			if err != nil || all.Total != 3000 || len(all.Images) != 3000 {
				t.Fatalf("total %d, %d rows, %v", all.Total, len(all.Images), err)
			}
			if reg, err := s.GetRegistry(ctx, "bench", regID); err != nil || reg.ImagesNum != 3000 {
				t.Fatalf("registry after seeding: %+v, %v", reg, err)
			}
			latest := base
			latest.LatestVersionOnly = true
			if p, _ := s.ListImages(ctx, latest); p.Total != 40 {
				t.Fatalf("latest rows %d, want 40", p.Total)
			}
			ns := base
			ns.Namespace = "ns-01"
			if p, _ := s.ListImages(ctx, ns); p.Total != 750 || len(p.Images) != 750 {
				t.Fatalf("ns-01: total %d, %d rows", p.Total, len(p.Images))
			}
			// A sync that empties the registry leaves no row and no
			// repository count behind.
			if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: regID, SeenAt: 1}); err != nil {
				t.Fatal(err)
			}
			if p, _ := s.ListImages(ctx, ns); p.Total != 0 {
				t.Fatalf("after emptying sync: %d", p.Total)
			}
			if reg, err := s.GetRegistry(ctx, "bench", regID); err != nil || reg.ImagesNum != 0 {
				t.Fatalf("registry after emptying sync: %+v, %v", reg, err)
			}
			if after, err := sqlstore.ImageIndexes(ctx, s); err != nil || !slices.Equal(after, before) {
				t.Fatalf("indexes after seeding %v, %v; want %v", after, err, before)
			}
		})
	}
}
