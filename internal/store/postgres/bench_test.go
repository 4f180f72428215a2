package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
)

const benchProject = "bench-project"

// benchFilters are the filter sets the list latency targets are stated for.
func benchFilters() []struct {
	name string
	f    inventory.Filter
} {
	yes := true
	base := inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 10}
	with := func(mod func(*inventory.Filter)) inventory.Filter {
		f := base
		mod(&f)
		return f
	}
	return []struct {
		name string
		f    inventory.Filter
	}{
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

// openBenchStore opens (seeding on first use) a store of rows rows in a
// fresh schema, or, with OPENHSS_BENCH_SCHEMA set, in that schema, which is
// kept and reused across runs.
func openBenchStore(tb testing.TB, rows int) *Store {
	tb.Helper()
	ctx := context.Background()
	var dsn string
	if schema := os.Getenv("OPENHSS_BENCH_SCHEMA"); schema != "" {
		conn, err := pgx.Connect(ctx, testDSN(tb))
		if err != nil {
			tb.Fatal(err)
		}
		_, err = conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
		conn.Close(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		dsn = withSearchPath(tb, testDSN(tb), schema)
	} else {
		dsn = newSchema(tb)
	}
	s := open(tb, dsn)
	tb.Cleanup(func() { s.Close() })
	p, err := s.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if p.Total == int64(rows) {
		return s
	}
	if p.Total != 0 {
		tb.Fatalf("the bench schema holds %d rows, want %d: drop it", p.Total, rows)
	}
	seed := uint64(time.Now().UnixNano())
	tb.Logf("seeding %d rows, seed %d", rows, seed)
	start := time.Now()
	spec := BenchSpec{ProjectID: benchProject, Rows: rows, Namespaces: 20, Repos: max(20, rows/100)}
	if _, err := SeedBench(ctx, s, spec, rand.New(rand.NewPCG(seed, seed))); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d rows in %v", rows, time.Since(start))
	return s
}

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("OPENHSS_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkListImages measures the list over a seeded store
// (OPENHSS_BENCH_ROWS rows, default 100,000) for each target filter set at
// offset 0 and at offset rows/10.
func BenchmarkListImages(b *testing.B) {
	rows := benchRows()
	s := openBenchStore(b, rows)
	ctx := context.Background()
	for _, offset := range []int{0, rows / 10} {
		for _, tc := range benchFilters() {
			b.Run(fmt.Sprintf("%s/offset=%d", tc.name, offset), func(b *testing.B) {
				f := tc.f
				f.Offset = offset
				for b.Loop() {
					if _, err := s.ListImages(ctx, f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestListLatency reports median and p99 latency of the target filter sets
// over OPENHSS_BENCH_ROWS rows, including the first (uncached count) call.
// It only runs when OPENHSS_BENCH_ROWS is set.
func TestListLatency(t *testing.T) {
	if os.Getenv("OPENHSS_BENCH_ROWS") == "" {
		t.Skip("set OPENHSS_BENCH_ROWS to measure list latency")
	}
	rows := benchRows()
	s := openBenchStore(t, rows)
	ctx := context.Background()
	const runs = 200
	for _, offset := range []int{0, 100_000} {
		for _, tc := range benchFilters() {
			f := tc.f
			f.Offset = offset
			var ds []time.Duration
			var total int64
			for range runs {
				start := time.Now()
				p, err := s.ListImages(ctx, f)
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
}

// TestSeedBench checks the bulk loader leaves a store the list and the
// triggers agree on: every row counted, one latest row per repository, and
// indexes back in place for the writes that follow.
func TestSeedBench(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	spec := BenchSpec{ProjectID: "bench", Rows: 3000, Namespaces: 4, Repos: 40}
	regID, err := SeedBench(ctx, s, spec, rand.New(rand.NewPCG(1, 2)))
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
	if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: regID, SeenAt: 1}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ListImages(ctx, ns); p.Total != 0 {
		t.Fatalf("after emptying sync: %d", p.Total)
	}
	if reg, err := s.GetRegistry(ctx, "bench", regID); err != nil || reg.ImagesNum != 0 {
		t.Fatalf("registry after emptying sync: %+v, %v", reg, err)
	}
	var indexes int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'images'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 9 {
		t.Fatalf("%d indexes on images after seeding, want 9", indexes)
	}
}
