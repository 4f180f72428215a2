package postgres

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/storebench"
	"github.com/openhss/openhss/internal/store/storebench/listbench"
)

// openBenchStore opens (seeding on first use) a store of rows rows in a
// fresh schema, or, with OPENHSS_BENCH_SCHEMA set, in that schema, which is
// kept and reused across runs.
func openBenchStore(tb testing.TB, rows int) *Store {
	tb.Helper()
	ctx := context.Background()
	var dsn string
	schema := os.Getenv("OPENHSS_BENCH_SCHEMA")
	if schema != "" {
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
	listbench.Seed(tb, s, rows, "schema "+schema, func(ctx context.Context, spec storebench.Spec, rnd *rand.Rand) error {
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

// TestSeedBench checks the bulk loader leaves a store the list and the
// triggers agree on: every row counted, one latest row per repository, and
// indexes back in place for the writes that follow.
func TestSeedBench(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	spec := storebench.Spec{ProjectID: "bench", Rows: 3000, Namespaces: 4, Repos: 40}
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
	if err := s.pool.p.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'images'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != 10 {
		t.Fatalf("%d indexes on images after seeding, want 10", indexes)
	}
}
