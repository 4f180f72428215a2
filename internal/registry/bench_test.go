package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/store/postgres/pgtest"
)

const benchRepos, benchTags = 200, 50

// BenchmarkSync measures, on a fresh store of each engine (SQLite, and
// PostgreSQL when OPENHSS_TEST_POSTGRES is set), the first sync of 200
// repositories × 50 tags (10,000 distinct manifests) from the in-process
// registry — listing, manifest and config fetches, ApplySync — and then a
// re-sync of the unchanged registry, counting the registry's requests per
// kind. The op time is both syncs; first-s and resync-s split it.
// Run: go test ./internal/registry -run '^$' -bench Sync -benchtime 1x
func BenchmarkSync(b *testing.B) {
	counter := newRequestCounter()
	r := registrytest.New(b, registrytest.WithMiddleware(counter.middleware))
	start := time.Now()
	r.Populate(b, benchRepos, benchTags)
	b.Logf("populated %d×%d in %v", benchRepos, benchTags, time.Since(start))
	engines := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "openhss.db") }},
		{"postgres", benchPostgres},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			var first, again, apply time.Duration
			for b.Loop() {
				b.StopTimer()
				syncer, ts := benchSyncer(b, e.url(b), r.Addr())
				counter.take()
				b.StartTimer()
				for i, want := range []inventory.SyncResult{{Added: benchRepos * benchTags}, {Unchanged: benchRepos * benchTags}} {
					start := time.Now()
					res, err := syncer.Sync(context.Background(), project, inventory.PrivateImage)
					if err != nil || res[0].Err != nil {
						b.Fatal(err, res)
					}
					d := time.Since(start)
					if res[0].Changes != want {
						b.Fatalf("sync %d: %+v, want %+v", i+1, res[0].Changes, want)
					}
					kinds, _ := counter.take()
					b.Logf("sync %d: %+v in %v (ApplySync %v), requests %v", i+1, res[0].Changes, d, ts.apply, kinds)
					if i == 0 {
						first = d
						continue
					}
					again, apply = d, ts.apply
					b.ReportMetric(float64(kinds[reqManifestHead]+kinds[reqManifestGet])/(benchRepos*benchTags), "resync-manifest-req/tag")
					b.ReportMetric(float64(kinds[reqBlob]), "resync-blob-req")
				}
			}
			b.ReportMetric(first.Seconds(), "first-s")
			b.ReportMetric(again.Seconds(), "resync-s")
			b.ReportMetric(apply.Seconds(), "resync-apply-s")
		})
	}
}

// benchSyncer opens the store at url, with the project and a connection
// to the registry at addr, and returns a Syncer over it through the test
// transport.
func benchSyncer(b *testing.B, url, addr string) (*registry.Syncer, *timedStore) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: project, Name: "project one"}); err != nil {
		b.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := box.Seal("")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateRegistry(ctx, inventory.Registry{ProjectID: project, Name: addr, Type: inventory.OtherRegistry,
		Protocol: "http", Addr: addr, PasswordSealed: sealed}); err != nil {
		b.Fatal(err)
	}
	ts := &timedStore{Store: st}
	return newSyncer(b, registry.SyncerOptions{Store: ts, Queue: st, Box: box, Lister: fastLister(b, registry.ListerOptions{})}), ts
}

// timedStore times ApplySync, the store's share of a sync.
type timedStore struct {
	store.Store
	apply time.Duration
}

func (s *timedStore) ApplySync(ctx context.Context, snap inventory.Snapshot) (inventory.SyncResult, error) {
	start := time.Now()
	defer func() { s.apply = time.Since(start) }()
	return s.Store.ApplySync(ctx, snap)
}

// benchPostgres creates a schema of OPENHSS_TEST_POSTGRES, dropped at the
// end, and returns a URL using it; it skips b when the variable is unset.
func benchPostgres(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("OPENHSS_TEST_POSTGRES is not set: no PostgreSQL run")
	}
	return pgtest.Schema(b, dsn, "openhss_bench_")
}

// BenchmarkList measures the listing alone (no store).
func BenchmarkList(b *testing.B) {
	r := registrytest.New(b)
	r.Populate(b, benchRepos, benchTags)
	size := registrytest.PopulatedSize(b)
	for b.Loop() {
		snap, err := fastLister(b, registry.ListerOptions{}).List(context.Background(), connection(r), "")
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Repositories) != benchRepos || len(snap.Manifests) != benchRepos*benchTags {
			b.Fatalf("%d repositories, %d manifests", len(snap.Repositories), len(snap.Manifests))
		}
		if m := snap.Manifests[0]; m.Size != size || m.Created < registrytest.PopulateBase.UnixMilli() {
			b.Fatalf("manifest %+v, want size %d", m, size)
		}
	}
}
