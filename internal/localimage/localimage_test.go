package localimage_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/localimage"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureProject(context.Background(), inventory.Project{ID: "p", Name: "p"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func digest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

var created = time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)

func TestImport(t *testing.T) {
	ctx := context.Background()
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	one := registrytest.Image(t, registrytest.ImageOptions{Created: created, OCI: true,
		Layers: []map[string]string{{"etc/os-release": "ID=test\n"}}})
	two := registrytest.Image(t, registrytest.ImageOptions{Created: created.Add(time.Hour),
		Layers: []map[string]string{{"x": "2"}, {"y": "22"}}})
	idx := registrytest.Index(t, created, arm64, amd64)
	idxManifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	amd64Digest := idxManifest.Manifests[1].Digest.String()

	dir := t.TempDir()
	// OCI layout holding one image, named by tag only.
	single, err := layout.Write(filepath.Join(dir, "myapp"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := single.AppendImage(one, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "1.0"})); err != nil {
		t.Fatal(err)
	}
	// OCI layout holding a multi-platform index.
	multi, err := layout.Write(filepath.Join(dir, "multi.oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := multi.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	// docker save of one image, and of two.
	tag := func(s string) name.Tag {
		tg, err := name.NewTag(s)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	oneTar := filepath.Join(dir, "one.tar")
	if err := tarball.WriteToFile(oneTar, tag("team/app:1.0"), two); err != nil {
		t.Fatal(err)
	}
	twoTar := filepath.Join(dir, "two.tar")
	if err := tarball.MultiWriteToFile(twoTar, map[name.Tag]v1.Image{
		tag("registry.example.com:5000/team/app:1.0"): one,
		tag("busybox:1.36"):                           two,
	}); err != nil {
		t.Fatal(err)
	}

	size := registrytest.ManifestSize
	// A docker archive has no manifest: an OCI image saved to one comes
	// back with the Docker manifest go-containerregistry derives.
	hostTag := tag("registry.example.com:5000/team/app:1.0")
	fromArchive, err := tarball.ImageFromPath(twoTar, &hostTag)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, fromArchive) == digest(t, one) {
		t.Fatal("expected the archive to change the OCI manifest")
	}
	for _, c := range []struct {
		name, path, ref string
		ns, repo, tag   string
		digest, md      string
		size            int64
		created         time.Time
		members         int
	}{
		{"layout, tag from ref.name", filepath.Join(dir, "myapp"), "", "", "myapp", "1.0", digest(t, one), digest(t, one), size(t, one), created, 0},
		{"layout, --name", filepath.Join(dir, "myapp"), "ns/renamed:v9", "ns", "renamed", "v9", digest(t, one), digest(t, one), size(t, one), created, 0},
		{"layout index", filepath.Join(dir, "multi.oci"), "", "", "multi", "latest", digest(t, idx), amd64Digest, -1, created, 2},
		{"docker archive", oneTar, "", "team", "app", "1.0", digest(t, two), digest(t, two), size(t, two), created.Add(time.Hour), 0},
		{"archive, pick by --name", twoTar, "busybox:1.36", "", "busybox", "1.36", digest(t, two), digest(t, two), size(t, two), created.Add(time.Hour), 0},
		{"archive, registry host dropped", twoTar, "registry.example.com:5000/team/app:1.0", "team", "app", "1.0", digest(t, fromArchive), digest(t, fromArchive), size(t, fromArchive), created, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			got, err := localimage.Import(ctx, st, "p", "", c.path, c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == 0 || got.Type != inventory.LocalImage || got.RegistryID != 0 || got.EnterpriseProjectID != "0" ||
				got.Namespace != c.ns || got.Name != c.repo || got.Tag != c.tag ||
				got.Digest != c.digest || got.ManifestDigest != c.md ||
				got.LatestUpdateTime != c.created.UnixMilli() || !got.Scannable || !got.LatestVersion ||
				got.ScanStatus != inventory.Unscan || len(got.Associations) != c.members {
				t.Errorf("row = %+v", got)
			}
			if c.size >= 0 && got.Size != c.size {
				t.Errorf("size = %d, want %d", got.Size, c.size)
			}
			if c.members > 0 {
				img, err := idx.Image(idxManifest.Manifests[1].Digest)
				if err != nil {
					t.Fatal(err)
				}
				if got.Size != size(t, img) || got.Associations[1].Platform != "linux/amd64" || got.Associations[0].Platform != "linux/arm64" {
					t.Errorf("index row = %+v", got)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing"), dir} {
		if _, err := localimage.Load(p, ""); err == nil {
			t.Errorf("Load(%s) succeeded", p)
		}
	}
}
