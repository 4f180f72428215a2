package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// testRegistryImages checks ListRegistryImages' filters and order
// (docs/api.md, ListRegistryImages): every type when Type is empty, the
// owning connection's name, type and sync time, risky, multi-arch, and
// sort by scan time in both directions through every page. Each filter is
// listed after a differing one, so that a cache key missing a field would
// serve the other's rows.
func testRegistryImages(t *testing.T, e *env) {
	e.project("p1")
	harbor := e.registry("p1", "harbor.example", inventory.Harbor, func(r *inventory.Registry) { r.Name = "alpha-harbor" })
	jfrog := e.registry("p1", "jfrog.example", inventory.Jfrog, func(r *inventory.Registry) { r.Name = "beta" })
	ent := e.registry("p1", "ent.example", inventory.SwrEnterprise, func(r *inventory.Registry) { r.Name = "gamma_1" })
	idx, amd, arm := Digest("ri-index"), Digest("ri-amd"), Digest("ri-arm")
	armM := image(arm, 50, 7)
	armM.Platform = "linux/arm64"
	m1, m2, m3, m4 := Digest("ri-1"), Digest("ri-2"), Digest("ri-3"), Digest("ri-4")
	e.sync(inventory.Snapshot{RegistryID: harbor.ID, SeenAt: 1, Manifests: []inventory.Manifest{
		image(m1, 10, 1), image(m2, 20, 1), image(amd, 50, 7), armM,
		{Digest: idx, MediaType: "application/vnd.oci.image.index.v1+json", Members: []inventory.Association{
			{Digest: amd, Platform: "linux/amd64"}, {Digest: arm, Platform: "linux/arm64"}}},
	}, Repositories: []inventory.RepoSnapshot{
		repo("ns", "a", tag("v1", m1), tag("v2", m2), inventory.TagRef{Tag: "multi", Digest: idx, ManifestDigest: amd}),
	}})
	e.sync(inventory.Snapshot{RegistryID: jfrog.ID, SeenAt: 1, Manifests: []inventory.Manifest{image(m3, 30, 1)},
		Repositories: []inventory.RepoSnapshot{repo("ns", "b", tag("v1", m3))}})
	e.sync(inventory.Snapshot{RegistryID: ent.ID, SeenAt: 1, Manifests: []inventory.Manifest{image(m4, 40, 1)},
		Repositories: []inventory.RepoSnapshot{repo("corp", "c", tag("v1", m4))}})
	e.scan(m1, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 300, VulNum: 2, SeverityLevel: "High"})
	e.scan(m2, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 100, SeverityLevel: "Security"})
	e.scan(m3, inventory.ScanResult{Status: inventory.ScanFailed, ScanTime: 200, FailedDesc: "x"})
	e.scan(arm, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: 4, UnsafeSettingNum: 1, MaliciousFileNum: 2})
	for id, at := range map[int64]int64{harbor.ID: 1000, jfrog.ID: 2000} { // ent never synced
		if err := e.st.SetRegistryStatus(e.ctx, id, inventory.RegistryOK, "", at); err != nil {
			t.Fatal(err)
		}
	}

	yes, no := true, false
	i64 := func(v int64) *int64 { return &v }
	base := inventory.Filter{ProjectID: "p1", Limit: 100}
	with := func(mod func(*inventory.Filter)) inventory.Filter { f := base; mod(&f); return f }
	sorted := func(k []string) []string { return slices.Sorted(slices.Values(k)) }
	for _, tc := range []struct {
		name string
		f    inventory.Filter
		want []string
	}{
		{"every type", base, []string{"corp/c:v1", "ns/a:multi", "ns/a:v1", "ns/a:v2", "ns/b:v1"}},
		{"private only", with(func(f *inventory.Filter) { f.Type = inventory.PrivateImage }), []string{"ns/a:multi", "ns/a:v1", "ns/a:v2", "ns/b:v1"}},
		{"registry name", with(func(f *inventory.Filter) { f.RegistryName = "harbor" }), []string{"ns/a:multi", "ns/a:v1", "ns/a:v2"}},
		{"registry name other", with(func(f *inventory.Filter) { f.RegistryName = "ta" }), []string{"ns/b:v1"}},
		{"registry name literal underscore", with(func(f *inventory.Filter) { f.RegistryName = "a_1" }), []string{"corp/c:v1"}},
		{"registry name literal wildcard", with(func(f *inventory.Filter) { f.RegistryName = "%" }), nil},
		{"registry name case", with(func(f *inventory.Filter) { f.RegistryName = "BETA" }), nil},
		{"registry type jfrog", with(func(f *inventory.Filter) { f.RegistryTypes = []inventory.RegistryType{inventory.Jfrog} }), []string{"ns/b:v1"}},
		{"registry type harbor", with(func(f *inventory.Filter) { f.RegistryTypes = []inventory.RegistryType{inventory.Harbor} }), []string{"ns/a:multi", "ns/a:v1", "ns/a:v2"}},
		{"registry types none", with(func(f *inventory.Filter) { f.RegistryTypes = []inventory.RegistryType{} }), nil},
		{"synced from", with(func(f *inventory.Filter) { f.StartLatestSyncTime = i64(1500) }), []string{"ns/b:v1"}},
		{"synced until", with(func(f *inventory.Filter) { f.EndLatestSyncTime = i64(1500) }), []string{"ns/a:multi", "ns/a:v1", "ns/a:v2"}},
		{"synced ever", with(func(f *inventory.Filter) { f.StartLatestSyncTime = i64(0) }), []string{"ns/a:multi", "ns/a:v1", "ns/a:v2", "ns/b:v1"}},
		{"risky", with(func(f *inventory.Filter) { f.Risky = &yes }), []string{"ns/a:v1"}},
		{"not risky", with(func(f *inventory.Filter) { f.Risky = &no }), []string{"ns/a:v2"}},
		{"multi-arch", with(func(f *inventory.Filter) { f.MultiArch = &yes }), []string{"ns/a:multi"}},
		{"single-platform", with(func(f *inventory.Filter) { f.MultiArch = &no }), []string{"corp/c:v1", "ns/a:v1", "ns/a:v2", "ns/b:v1"}},
		{"severity", with(func(f *inventory.Filter) { f.SeverityLevel = "High" }), []string{"ns/a:v1"}},
		{"severity other", with(func(f *inventory.Filter) { f.SeverityLevel = "Security" }), []string{"ns/a:v2"}},
		{"severity none", with(func(f *inventory.Filter) { f.SeverityLevel = "Low" }), nil},
		{"every type again", base, []string{"corp/c:v1", "ns/a:multi", "ns/a:v1", "ns/a:v2", "ns/b:v1"}},
	} {
		p := e.list(tc.f)
		if got := sorted(keys(p.Images)); !slices.Equal(got, sorted(tc.want)) || p.Total != int64(len(tc.want)) {
			t.Errorf("%s: rows %q (total %d), want %q", tc.name, got, p.Total, tc.want)
		}
	}

	if got := byKey(e.list(base).Images)["ns/a:v1"].SeverityLevel; got != "High" {
		t.Errorf("severity level = %q", got)
	}

	// Members carry their own scan counts.
	multi := byKey(e.list(with(func(f *inventory.Filter) { f.MultiArch = &yes })).Images)["ns/a:multi"]
	if len(multi.Associations) != 2 || multi.Associations[1] != (inventory.Association{Digest: arm, Platform: "linux/arm64",
		ScanStatus: inventory.ScanSuccess, VulNum: 4, UnsafeSettingNum: 1, MaliciousFileNum: 2}) {
		t.Errorf("associations = %+v", multi.Associations)
	}

	// Sort by scan time: never scanned (ns/a:multi describes amd, and
	// corp/c:v1) as 0, then by id, in either direction, page by page.
	all := e.list(base).Images
	for _, desc := range []bool{false, true} {
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b inventory.Image) int {
			c := cmp.Or(cmp.Compare(a.LatestScanTime, b.LatestScanTime), cmp.Compare(a.ID, b.ID))
			if desc {
				return -c
			}
			return c
		})
		var got []int64
		for off := 0; off < len(all)+1; off += 2 {
			p := e.list(with(func(f *inventory.Filter) { f.SortByScanTime, f.SortDesc, f.Offset, f.Limit = true, desc, off, 2 }))
			if p.Total != int64(len(all)) {
				t.Fatalf("desc=%v offset %d: total %d", desc, off, p.Total)
			}
			got = append(got, ids(p.Images)...)
		}
		if !slices.Equal(got, ids(want)) {
			t.Errorf("sort by scan time desc=%v: ids %v, want %v", desc, got, ids(want))
		}
	}
}
