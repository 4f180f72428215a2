package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
)

// TestListCachedPageIsACopy changes a page the caller got and lists again:
// the cache must not hand out its own slice.
func TestListCachedPageIsACopy(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := s.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.Digest("copy")
	if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1,
		Manifests:    []inventory.Manifest{{Digest: d, Size: 1}},
		Repositories: []inventory.RepoSnapshot{{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{{Tag: "1", Digest: d, ManifestDigest: d}}}},
	}); err != nil {
		t.Fatal(err)
	}
	f := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 10}
	for range 3 {
		p, err := s.ListImages(ctx, f)
		if err != nil || len(p.Images) != 1 || p.Images[0].Tag != "1" {
			t.Fatalf("page %+v, %v", p, err)
		}
		p.Images[0].Tag = "scribbled"
	}
}

// TestListConcurrentNewShapes lists, from many more goroutines than the read
// pool has connections, filters whose statements nobody ran before: a
// transaction must never wait for a second connection to prepare one (with
// every connection held by such a transaction, that would hang).
func TestListConcurrentNewShapes(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	if _, err := benchseed.Seed(ctx, s, benchseed.Spec{ProjectID: "p1", Rows: 400, Namespaces: 2, Repos: 20}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	const workers = 32
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			// w+1 enterprise projects: a statement text of its own.
			eps := []string{"0"}
			for i := range w {
				eps = append(eps, fmt.Sprint("ep-", i))
			}
			yes := true
			f := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, EnterpriseProjects: eps, HasVul: &yes, Limit: 5}
			p, err := s.ListImages(ctx, f)
			if err == nil && (p.Total == 0 || len(p.Images) != 5) {
				err = fmt.Errorf("%d projects: total %d, %d rows", len(eps), p.Total, len(p.Images))
			}
			errs <- err
		}()
	}
	var want int64 = -1
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Every shape is prepared now, and answers as before.
	for w := range workers {
		eps := []string{"0"}
		for i := range w {
			eps = append(eps, fmt.Sprint("ep-", i))
		}
		yes := true
		p, err := s.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, EnterpriseProjects: eps, HasVul: &yes, Limit: 5, Offset: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want >= 0 && p.Total != want {
			t.Fatalf("%d projects: total %d, want %d", len(eps), p.Total, want)
		}
		want = p.Total
	}
}
