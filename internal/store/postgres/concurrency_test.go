package postgres

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
)

// snapshotOf lists repos repositories of tags tags each, shared by every
// registry (same namespaces and names), with digests varying by variant.
func snapshotOf(regID int64, variant, repos, tags int) inventory.Snapshot {
	snap := inventory.Snapshot{RegistryID: regID, SeenAt: int64(1000 + variant)}
	for r := range repos {
		repo := inventory.RepoSnapshot{Namespace: fmt.Sprintf("ns%d", r%3), Name: fmt.Sprintf("app%d", r)}
		for tg := range tags - variant%3 {
			d := storetest.Digest(fmt.Sprintf("%d/%d/%d", r, tg, (variant+tg)%4))
			snap.Manifests = append(snap.Manifests, inventory.Manifest{Digest: d, Size: int64(tg), Created: int64(1 + tg*1000)})
			repo.Tags = append(repo.Tags, inventory.TagRef{Tag: fmt.Sprintf("t%d", tg), Digest: d, ManifestDigest: d})
		}
		snap.Repositories = append(snap.Repositories, repo)
	}
	return snap
}

// TestConcurrentSyncs runs syncs of two registries of one project, whose
// repositories have the same names, from two handles at once, with scan
// results and lists on a third, and then checks that the counters the
// triggers keep agree with the rows: the list total from image_repos, a
// counted total, each registry's images_num, and one latest row per
// repository.
func TestConcurrentSyncs(t *testing.T) {
	dsn := newSchema(t)
	ctx := context.Background()
	a, b, c := open(t, dsn), open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	defer c.Close()
	if _, err := a.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	var regs []inventory.Registry
	for _, addr := range []string{"one.example", "two.example"} {
		r, err := a.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, r)
	}
	all := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 1}
	before, err := c.ListImages(ctx, all) // cached on c at this generation
	if err != nil || before.Total != 0 {
		t.Fatalf("empty list: %+v, %v", before, err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w, st := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range 6 {
				if _, err := st.ApplySync(ctx, snapshotOf(regs[w%2].ID, v+w, 12, 8)); err != nil {
					errs <- fmt.Errorf("sync %d/%d: %w", w, v, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 30 {
			d := storetest.Digest(fmt.Sprintf("%d/%d/%d", i%12, i%8, i%4))
			if err := c.SetScanResult(ctx, d, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: 1}); err != nil {
				errs <- err
				return
			}
			if _, err := c.ListImages(ctx, all); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// c's cached plan is stale by generation: the list sees the syncs.
	got, err := c.ListImages(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	huge := int64(math.MaxInt64)
	counted := all
	counted.MaxImageSize = &huge // forces count(*) over images
	counted.Limit = 1 << 20
	rows, err := c.ListImages(ctx, counted)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total == 0 || got.Total != rows.Total || int64(len(rows.Images)) != rows.Total {
		t.Fatalf("total from image_repos %d, counted %d, rows %d", got.Total, rows.Total, len(rows.Images))
	}
	perReg := map[int64]int32{}
	latest := map[string]int{}
	for _, img := range rows.Images {
		perReg[img.RegistryID]++
		if img.LatestVersion {
			latest[fmt.Sprintf("%d/%s/%s", img.RegistryID, img.Namespace, img.Name)]++
		}
	}
	for _, r := range regs {
		reg, err := c.GetRegistry(ctx, "p1", r.ID)
		if err != nil || reg.ImagesNum != perReg[r.ID] {
			t.Fatalf("registry %d: images_num %d, %d rows (%v)", r.ID, reg.ImagesNum, perReg[r.ID], err)
		}
	}
	if len(latest) != 24 {
		t.Fatalf("%d repositories with a latest row, want 24", len(latest))
	}
	for k, n := range latest {
		if n != 1 {
			t.Fatalf("%s has %d latest rows", k, n)
		}
	}
	ns := all
	ns.Namespace = "ns1"
	nsPage, err := c.ListImages(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	var nsRows int64
	for _, img := range rows.Images {
		if img.Namespace == "ns1" {
			nsRows++
		}
	}
	if nsPage.Total != nsRows {
		t.Fatalf("namespace total %d, rows %d", nsPage.Total, nsRows)
	}
}

// TestUnstorableFilters: strings PostgreSQL cannot hold (invalid UTF-8,
// NUL) match nothing instead of failing the request.
func TestUnstorableFilters(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	for _, bad := range []string{"\xff", "a\x00b"} {
		p, err := s.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, ImageName: bad})
		if err != nil || p.Total != 0 {
			t.Fatalf("ListImages(%q) = %+v, %v", bad, p, err)
		}
		if _, err := s.GetCredential(ctx, bad); err == nil {
			t.Fatalf("GetCredential(%q) succeeded", bad)
		}
		if regs, _, err := s.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: "p1", Name: bad}); err != nil || len(regs) != 0 {
			t.Fatalf("ListRegistries(%q) = %v, %v", bad, regs, err)
		}
	}
}
