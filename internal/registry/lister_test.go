package registry_test

import (
	"cmp"
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
	armv7 = v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// registrytestTransport lets tests reach registrytest's registries on
// 127.0.0.1, which the default network policy denies. Only that address:
// other loopback addresses stay denied (ssrf_test.go uses 127.0.0.2).
func registrytestTransport() *registry.Transport {
	p, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		panic(err)
	}
	return registry.NewTransport(p)
}

// fastLister fails fast: tests provoke failures on purpose. The fields of
// o left zero get the test transport, one try per request, a 10 s request
// timeout and a fixed clock.
func fastLister(t testing.TB, o registry.ListerOptions) *registry.Lister {
	t.Helper()
	if o.Transport == nil {
		o.Transport = registrytestTransport()
	}
	if o.Retry.Attempts == 0 && o.Retry.Sleep == nil {
		o.Retry = registry.RetryPolicy{Attempts: 1}
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	}
	l, err := registry.NewLister(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newSyncer is registry.NewSyncer(o), failing t when it refuses o.
func newSyncer(t testing.TB, o registry.SyncerOptions) *registry.Syncer {
	t.Helper()
	s, err := registry.NewSyncer(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func connection(r *registrytest.Registry) inventory.Registry {
	return inventory.Registry{ID: 7, Addr: r.Addr(), Protocol: "http", Type: inventory.OtherRegistry}
}

// imageManifest is what a snapshot must say about an image we pushed,
// computed from the image itself.
func imageManifest(t *testing.T, img v1.Image, created time.Time, platform string) inventory.Manifest {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	return inventory.Manifest{
		Digest: d.String(), MediaType: string(mt), Size: registrytest.ManifestSize(t, img),
		Created: inventory.Millis(created), Platform: platform, Scannable: true,
	}
}

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// fixture is a registry with every kind of content a sync meets, and the
// snapshot a correct listing of it must produce.
type fixture struct {
	reg  *registrytest.Registry
	want inventory.Snapshot
}

func newFixture(t *testing.T, opts ...registrytest.Option) fixture {
	t.Helper()
	// A catalog page of 3 makes the listing paginate (7 repositories).
	r := registrytest.New(t, append([]registrytest.Option{registrytest.WithCatalogMaxEntries(3), registrytest.WithDelete()}, opts...)...)
	var want inventory.Snapshot
	repo := func(ns, name string, tags ...inventory.TagRef) {
		want.Repositories = append(want.Repositories, inventory.RepoSnapshot{Namespace: ns, Name: name, Tags: tags})
	}
	single := func(tag string, m inventory.Manifest) inventory.TagRef {
		want.Manifests = append(want.Manifests, m)
		return inventory.TagRef{Tag: tag, Digest: m.Digest, ManifestDigest: m.Digest}
	}

	// library/alpine: three tags created at different times, one of them
	// signed with cosign and described by a tagged SBOM referrer.
	var alpine []inventory.TagRef
	for _, v := range []struct{ tag, day string }{{"3.18", "2023-05-09"}, {"3.19", "2023-12-07"}, {"3.20", "2024-05-22"}} {
		created := day(v.day)
		img := r.PushImage(t, "library/alpine", v.tag, registrytest.ImageOptions{
			Created: created,
			Layers:  []map[string]string{{"etc/alpine-release": v.tag + "\n"}, {"bin/sh": "#!" + v.tag}},
		})
		alpine = append(alpine, single(v.tag, imageManifest(t, img, created, "linux/amd64")))
	}
	signed := r.Head(t, "library/alpine", "3.20")
	r.PushCosignSignature(t, "library/alpine", signed.Digest)
	r.PushReferrer(t, "library/alpine", "3.20-sbom", signed)
	repo("library", "alpine", alpine...)

	// library/multi: a two-platform index, and one without linux/amd64.
	var multi []inventory.TagRef
	for _, v := range []struct {
		tag       string
		platforms []v1.Platform
	}{{"1.0", []v1.Platform{arm64, amd64}}, {"arm-only", []v1.Platform{arm64, armv7}}} {
		created := day("2024-02-02")
		idx := r.PushIndex(t, "library/multi", v.tag, created, v.platforms...)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		index := inventory.Manifest{Digest: digestOf(t, idx), MediaType: string(im.MediaType)}
		var members []inventory.Manifest
		row := ""
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			m := imageManifest(t, img, created, d.Platform.String())
			members = append(members, m)
			index.Members = append(index.Members, inventory.Association{Digest: m.Digest, Platform: m.Platform})
			if m.Platform == "linux/amd64" {
				row = m.Digest
			}
		}
		if row == "" {
			row = members[0].Digest
		}
		index.Scannable = true
		want.Manifests = append(want.Manifests, index)
		want.Manifests = append(want.Manifests, members...)
		multi = append(multi, inventory.TagRef{Tag: v.tag, Digest: index.Digest, ManifestDigest: row})
	}
	repo("library", "multi", multi...)

	// charts/mychart: a Helm chart is a row, but not scannable.
	chart := r.PushHelmChart(t, "charts/mychart", "0.1.0")
	repo("charts", "mychart", single("0.1.0", inventory.Manifest{
		Digest: chart.Digest.String(), MediaType: string(chart.MediaType),
		ArtifactType: string(registrytest.HelmConfigMediaType), Size: chart.Size,
	}))

	// team/app/api: a nested path; two tags share one digest; no created.
	api := r.PushImage(t, "team/app/api", "latest", registrytest.ImageOptions{OCI: true})
	r.MoveTag(t, "team/app/api", "stable", "latest")
	apiM := imageManifest(t, api, time.Time{}, "linux/amd64")
	want.Manifests = append(want.Manifests, apiM)
	repo("team", "app/api",
		inventory.TagRef{Tag: "latest", Digest: apiM.Digest, ManifestDigest: apiM.Digest},
		inventory.TagRef{Tag: "stable", Digest: apiM.Digest, ManifestDigest: apiM.Digest})

	// team/web: OCI media types, an arm64 single-platform image.
	webCreated := day("2024-03-03")
	web := r.PushImage(t, "team/web", "2.1", registrytest.ImageOptions{
		Created: webCreated, OCI: true, Platform: &armv7,
		Layers: []map[string]string{{"a": "1"}, {"b": "22"}, {"c": "333"}},
	})
	repo("team", "web", single("2.1", imageManifest(t, web, webCreated, "linux/arm/v7")))

	// busybox: a single-segment repository has namespace "".
	bbCreated := day("2022-01-01")
	bb := r.PushImage(t, "busybox", "1.36", registrytest.ImageOptions{Created: bbCreated})
	repo("", "busybox", single("1.36", imageManifest(t, bb, bbCreated, "linux/amd64")))

	// sigs/only: nothing left but attachments of a deleted image: a
	// repository without rows.
	target := r.PushImage(t, "sigs/only", "tmp", registrytest.ImageOptions{Created: bbCreated})
	r.PushCosignSignature(t, "sigs/only", mustDigest(t, target))
	r.PushReferrer(t, "sigs/only", "", r.Head(t, "sigs/only", "tmp"))
	r.DeleteTag(t, "sigs/only", "tmp")
	repo("sigs", "only")

	want.RegistryID = 7
	want.SeenAt = 1_700_000_000_000
	return fixture{reg: r, want: want}
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func normalize(s inventory.Snapshot) inventory.Snapshot {
	slices.SortFunc(s.Repositories, func(a, b inventory.RepoSnapshot) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for i := range s.Repositories {
		slices.SortFunc(s.Repositories[i].Tags, func(a, b inventory.TagRef) int { return cmp.Compare(a.Tag, b.Tag) })
		if len(s.Repositories[i].Tags) == 0 {
			s.Repositories[i].Tags = nil
		}
	}
	slices.SortFunc(s.Manifests, func(a, b inventory.Manifest) int { return cmp.Compare(a.Digest, b.Digest) })
	slices.Sort(s.Failed)
	return s
}

func diffSnapshots(t *testing.T, got, want inventory.Snapshot) {
	t.Helper()
	got, want = normalize(got), normalize(want)
	if got.RegistryID != want.RegistryID || got.SeenAt != want.SeenAt {
		t.Errorf("registry id, seen at = %d, %d; want %d, %d", got.RegistryID, got.SeenAt, want.RegistryID, want.SeenAt)
	}
	if !reflect.DeepEqual(got.Repositories, want.Repositories) {
		t.Errorf("repositories:\n got %+v\nwant %+v", got.Repositories, want.Repositories)
	}
	if !reflect.DeepEqual(got.Failed, want.Failed) {
		t.Errorf("failed = %q, want %q", got.Failed, want.Failed)
	}
	gm := map[string]inventory.Manifest{}
	for _, m := range got.Manifests {
		gm[m.Digest] = m
	}
	if len(got.Manifests) != len(gm) {
		t.Errorf("%d manifests listed, %d distinct", len(got.Manifests), len(gm))
	}
	wm := map[string]inventory.Manifest{}
	for _, m := range want.Manifests {
		wm[m.Digest] = m // indexes may share members
	}
	for _, m := range wm {
		if !reflect.DeepEqual(gm[m.Digest], m) {
			t.Errorf("manifest %s:\n got %+v\nwant %+v", m.Digest, gm[m.Digest], m)
		}
		delete(gm, m.Digest)
	}
	for d, m := range gm {
		t.Errorf("unexpected manifest %s: %+v", d, m)
	}
}

func TestListSnapshot(t *testing.T) {
	f := newFixture(t)
	got, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), connection(f.reg), "")
	if err != nil {
		t.Fatal(err)
	}
	diffSnapshots(t, got, f.want)
}
