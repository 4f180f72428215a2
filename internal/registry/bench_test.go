package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

const benchRepos, benchTags = 200, 50

// BenchmarkSync measures one full sync of 200 repositories × 50 tags
// (10,000 distinct manifests) from the in-process registry into a fresh
// SQLite store: listing, manifest and config fetches, and ApplySync.
// Run: go test ./internal/registry -run '^$' -bench Sync -benchtime 1x
func BenchmarkSync(b *testing.B) {
	r := registrytest.New(b)
	start := time.Now()
	r.Populate(b, benchRepos, benchTags)
	b.Logf("populated %d×%d in %v", benchRepos, benchTags, time.Since(start))
	for b.Loop() {
		b.StopTimer()
		env := newSyncEnv(b)
		env.addRegistry(b, r.Addr(), "", "")
		b.StartTimer()
		start := time.Now()
		res, err := env.syncer.Sync(context.Background(), project, inventory.PrivateImage)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
		if res[0].Changes.Added != benchRepos*benchTags {
			b.Fatalf("added %d rows", res[0].Changes.Added)
		}
		b.Logf("sync: %+v in %v", res[0].Changes, time.Since(start))
	}
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
