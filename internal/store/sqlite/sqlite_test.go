package sqlite

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/jobs"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInventoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) inventory.Store {
		return open(t, filepath.Join(t.TempDir(), "openhss.db"))
	})
}

func TestJobsStore(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) func(t *testing.T) jobs.Store {
		path := filepath.Join(t.TempDir(), "openhss.db")
		return func(t *testing.T) jobs.Store { return open(t, path) }
	}, storetest.JobsOptions{})
}

// TestReopen closes a store without any cleanup after committed writes and
// opens the file again: the data is there and the migrations, already
// applied, are not run again.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openhss.db")
	s := open(t, path)
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := s.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.Digest("reopen")
	if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1,
		Manifests:    []inventory.Manifest{{Digest: d, Size: 3, Created: 9}},
		Repositories: []inventory.RepoSnapshot{{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{{Tag: "1", Digest: d, ManifestDigest: d}}}},
	}); err != nil {
		t.Fatal(err)
	}
	job, _, err := s.Enqueue(ctx, jobs.Job{Kind: "sync", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// Drop the pools without Close: no PRAGMA optimize, no checkpoint.
	s.read.Close()
	s.write.Close()

	s2 := open(t, path)
	defer s2.Close()
	var versions int
	if err := s2.read.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) {
		t.Fatalf("%d migration records for %d migrations: applied again on reopen?", versions, len(files))
	}
	p, err := s2.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 10})
	if err != nil || p.Total != 1 || p.Images[0].Size != 3 || p.Images[0].LatestUpdateTime != 9 {
		t.Fatalf("after reopen: %+v, %v", p, err)
	}
	if got, err := s2.GetJob(ctx, job.ID); err != nil || got.State != jobs.Queued {
		t.Fatalf("job after reopen: %+v, %v", got, err)
	}
	if got, err := s2.GetRegistry(ctx, "p1", reg.ID); err != nil || got.ImagesNum != 1 {
		t.Fatalf("registry after reopen: %+v, %v", got, err)
	}
}

func TestOpenRejectsEmptyPath(t *testing.T) {
	if _, err := Open(context.Background(), ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

// TestApplySyncLarge applies a 10,000-tag snapshot, then one with a tenth of
// the tags moved and a tenth gone, and checks the counts (durations are
// logged, not asserted).
func TestApplySyncLarge(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := s.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "big.example"})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func(gen int) inventory.Snapshot {
		snap := inventory.Snapshot{RegistryID: reg.ID, SeenAt: int64(1000 + gen)}
		for r := range 100 {
			repo := inventory.RepoSnapshot{Namespace: fmt.Sprintf("ns%d", r%10), Name: fmt.Sprintf("repo%d", r)}
			for tg := range 100 {
				if gen > 0 && tg%10 == 9 {
					continue // gone
				}
				content := fmt.Sprintf("%d/%d", r, tg)
				if gen > 0 && tg%10 == 0 {
					content += "/moved"
				}
				d := storetest.Digest(content)
				snap.Manifests = append(snap.Manifests, inventory.Manifest{Digest: d, Size: int64(tg), Created: int64(tg * 1000), Scannable: true})
				repo.Tags = append(repo.Tags, inventory.TagRef{Tag: fmt.Sprintf("t%d", tg), Digest: d, ManifestDigest: d})
			}
			snap.Repositories = append(snap.Repositories, repo)
		}
		return snap
	}
	for gen, want := range []inventory.SyncResult{{Added: 10000}, {Moved: 1000, Removed: 1000, Unchanged: 8000}} {
		start := time.Now()
		res, err := s.ApplySync(ctx, snapshot(gen))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sync %d: %+v in %v", gen, res, time.Since(start))
		if res != want {
			t.Fatalf("sync %d = %+v, want %+v", gen, res, want)
		}
	}
	p, err := s.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, LatestVersionOnly: true, Limit: 200})
	if err != nil || p.Total != 100 {
		t.Fatalf("latest rows: %d, %v", p.Total, err)
	}
	for _, img := range p.Images {
		if img.Tag != "t98" {
			t.Fatalf("latest of %s/%s is %s, want t98", img.Namespace, img.Name, img.Tag)
		}
	}
}
