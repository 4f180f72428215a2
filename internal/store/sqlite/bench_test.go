package sqlite

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/store/storebench"
	"github.com/openhss/openhss/internal/store/storebench/listbench"
)

// openBenchStore opens (seeding on first use) a store of rows rows. With
// OPENHSS_BENCH_DB set the file is kept and reused across runs.
func openBenchStore(tb testing.TB, rows int) *Store {
	tb.Helper()
	path := os.Getenv("OPENHSS_BENCH_DB")
	if path == "" {
		path = filepath.Join(tb.TempDir(), "bench.db")
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	listbench.Seed(tb, s, rows, path, func(ctx context.Context, spec storebench.Spec, rnd *rand.Rand) error {
		_, err := SeedBench(ctx, s, spec, rnd)
		return err
	})
	return s
}

// BenchmarkListImages measures the list over a seeded store
// (OPENHSS_BENCH_ROWS rows, default 100,000) for each target filter set at
// offset 0 and at offset rows/10.
func BenchmarkListImages(b *testing.B) {
	rows := listbench.Rows()
	listbench.Benchmark(b, openBenchStore(b, rows), rows)
}

// TestListLatency reports median and p99 latency of the target filter sets
// over OPENHSS_BENCH_ROWS rows, including the first (uncached count) call.
// It only runs when OPENHSS_BENCH_ROWS is set.
func TestListLatency(t *testing.T) {
	listbench.Latency(t, func(tb testing.TB, rows int) listbench.Lister { return openBenchStore(tb, rows) })
}
