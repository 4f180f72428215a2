package sqlite

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

// openBenchStore opens (seeding on first use) a store of rows rows. With
// OPENHSS_BENCH_DB set the file is kept and reused across runs.
func openBenchStore(tb testing.TB, rows int) *Store {
	tb.Helper()
	ctx := context.Background()
	path := os.Getenv("OPENHSS_BENCH_DB")
	if path == "" {
		path = filepath.Join(tb.TempDir(), "bench.db")
	}
	s, err := Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	p, err := s.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if p.Total == int64(rows) {
		return s
	}
	if p.Total != 0 {
		tb.Fatalf("%s holds %d bench rows, want %d: remove it", path, p.Total, rows)
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
