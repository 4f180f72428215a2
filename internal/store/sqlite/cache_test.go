package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/store/storebench"
)

// TestListCacheSeesOtherWriters lists through one store while a second store
// on the same file (another process, as far as the first can tell) changes
// the rows: every answer after a change reflects it, whether the first
// store had cached the total, the bookmarks and the page or not.
func TestListCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openhss.db")
	reader, writer := open(t, path), open(t, path)
	defer reader.Close()
	defer writer.Close()

	if _, err := writer.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := writer.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	sync := func(tags int) {
		t.Helper()
		snap := inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1}
		repo := inventory.RepoSnapshot{Namespace: "lib", Name: "app"}
		for i := range tags {
			d := storetest.Digest(fmt.Sprint("cache-", i))
			snap.Manifests = append(snap.Manifests, inventory.Manifest{Digest: d, Size: 1, Created: int64(1000 + i)})
			repo.Tags = append(repo.Tags, inventory.TagRef{Tag: fmt.Sprint("t", i), Digest: d, ManifestDigest: d})
		}
		snap.Repositories = []inventory.RepoSnapshot{repo}
		if _, err := writer.ApplySync(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f inventory.Filter) inventory.Page {
		t.Helper()
		p, err := reader.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0"}, Limit: 3}
	success := base
	success.ScanStatus = inventory.ScanSuccess

	sync(10)
	for range 3 { // fill every cache: total, bookmark, page
		if p := list(base); p.Total != 10 || len(p.Images) != 3 || p.Images[0].Tag != "t9" {
			t.Fatalf("before changes: %+v", p)
		}
		if p := list(withOffset(base, 3)); len(p.Images) != 3 || p.Images[0].Tag != "t6" {
			t.Fatalf("offset 3 before changes: %+v", p)
		}
		if p := list(success); p.Total != 0 || len(p.Images) != 0 {
			t.Fatalf("success before scans: %+v", p)
		}
	}

	// A scan result changes a cached page's row and another filter's total.
	d := storetest.Digest("cache-9")
	if err := writer.SetScanResult(ctx, d, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: 4}); err != nil {
		t.Fatal(err)
	}
	if p := list(base); p.Images[0].ScanStatus != inventory.ScanSuccess || p.Images[0].VulNum != 4 {
		t.Fatalf("after scan result: first row %+v", p.Images[0])
	}
	if p := list(success); p.Total != 1 || len(p.Images) != 1 || p.Images[0].Digest != d {
		t.Fatalf("success after scan result: %+v", p)
	}

	// A sync removes rows: totals, bookmarks and pages all move.
	sync(5)
	if p := list(base); p.Total != 5 || len(p.Images) != 3 || p.Images[0].Tag != "t4" {
		t.Fatalf("after shrinking sync: %+v", p)
	}
	if p := list(withOffset(base, 3)); p.Total != 5 || len(p.Images) != 2 || p.Images[0].Tag != "t1" {
		t.Fatalf("offset 3 after shrinking sync: %+v", p)
	}
	if p := list(success); p.Total != 0 {
		t.Fatalf("success after the scanned tag vanished: %+v", p)
	}
}

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

func withOffset(f inventory.Filter, offset int) inventory.Filter {
	f.Offset = offset
	return f
}

// TestListConcurrentNewShapes lists, from many more goroutines than the read
// pool has connections, filters whose statements nobody ran before: a
// transaction must never wait for a second connection to prepare one (with
// every connection held by such a transaction, that would hang).
func TestListConcurrentNewShapes(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	if _, err := SeedBench(ctx, s, storebench.Spec{ProjectID: "p1", Rows: 400, Namespaces: 2, Repos: 20}, rand.New(rand.NewPCG(1, 2))); err != nil {
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
