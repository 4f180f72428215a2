package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// testDeleteRegistries checks that a batch delete is all or none: one id
// that is unknown, of another project or outside the enterprise projects
// deletes nothing, and a good batch removes the connections and their rows.
func testDeleteRegistries(t *testing.T, e *env) {
	ctx := e.ctx
	e.project("p1")
	e.project("p2")
	a := e.registry("p1", "a.example", inventory.Harbor)
	b := e.registry("p1", "b.example", inventory.Harbor, func(r *inventory.Registry) { r.EnterpriseProjectID = "ep2" })
	keep := e.registry("p1", "keep.example", inventory.Harbor)
	foreign := e.registry("p2", "a.example", inventory.Harbor)
	for _, r := range []inventory.Registry{a, b, keep, foreign} {
		d := Digest(r.Addr + r.ProjectID)
		e.sync(inventory.Snapshot{RegistryID: r.ID, SeenAt: 10, Manifests: []inventory.Manifest{image(d, 0, 1)},
			Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("1", d))}})
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, p := range []string{"p1", "p2"} {
			for _, img := range e.all(p, inventory.PrivateImage) {
				out[fmt.Sprintf("%s rows of %d", p, img.RegistryID)]++
			}
			regs, _, err := e.st.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: p})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range regs {
				out[p+" registry "+r.Addr]++
			}
		}
		return out
	}
	before := counts()
	if len(before) != 8 {
		t.Fatalf("setup: %v", before)
	}
	bad := []struct {
		name string
		eps  []string
		ids  []int64
	}{
		{"unknown id", nil, []int64{a.ID, 999999}},
		{"another project's id", nil, []int64{a.ID, foreign.ID}},
		{"outside the enterprise projects", []string{"0"}, []int64{a.ID, b.ID}},
		{"no enterprise project", []string{}, []int64{a.ID}},
		{"zero id", nil, []int64{a.ID, 0}},
	}
	for _, tc := range bad {
		wantErr(t, e.st.DeleteRegistries(ctx, "p1", tc.eps, tc.ids), inventory.ErrNotFound)
		if after := counts(); !maps.Equal(after, before) {
			t.Fatalf("%s: a refused batch changed %v into %v", tc.name, before, after)
		}
	}
	if err := e.st.DeleteRegistries(ctx, "p1", []string{"0", "ep2"}, []int64{b.ID, a.ID, a.ID}); err != nil {
		t.Fatal(err)
	}
	regs, _, err := e.st.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: "p1"})
	if err != nil || len(regs) != 1 || regs[0].ID != keep.ID {
		t.Fatalf("after the batch: %+v, %v; want only %d", regs, err, keep.ID)
	}
	if rows := e.all("p1", inventory.PrivateImage); len(rows) != 1 || rows[0].RegistryID != keep.ID {
		t.Fatalf("rows after the batch: %+v", rows)
	}
	if rows := e.all("p2", inventory.PrivateImage); len(rows) != 1 {
		t.Fatalf("another project's rows after the batch: %+v", rows)
	}
}

// testCountRegistries checks the per-status counts behind
// ListRegistryStatistics and the ListRegistry filter on several statuses.
func testCountRegistries(t *testing.T, e *env) {
	ctx := e.ctx
	e.project("p1")
	e.project("p2")
	ok := e.registry("p1", "ok.example", inventory.Harbor)
	failed := e.registry("p1", "fail.example", inventory.Jfrog)
	syncing := e.registry("p1", "sync.example", inventory.Harbor, func(r *inventory.Registry) { r.EnterpriseProjectID = "ep2" })
	pending := e.registry("p1", "new.example", inventory.SwrShared)
	e.registry("p2", "ok.example", inventory.Harbor)
	for id, s := range map[int64]string{ok.ID: inventory.RegistryOK, failed.ID: inventory.RegistryFailed, syncing.ID: inventory.RegistrySyncing} {
		if err := e.st.SetRegistryStatus(ctx, id, s, "", 5); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		f    inventory.RegistryStatsFilter
		want map[string]int64
	}{
		{"all", inventory.RegistryStatsFilter{ProjectID: "p1"},
			map[string]int64{"success": 1, "fail": 1, "syncing": 1, "pending": 1}},
		{"types", inventory.RegistryStatsFilter{ProjectID: "p1", Types: []inventory.RegistryType{inventory.Harbor, inventory.SwrShared}},
			map[string]int64{"success": 1, "syncing": 1, "pending": 1}},
		{"one type", inventory.RegistryStatsFilter{ProjectID: "p1", Types: []inventory.RegistryType{inventory.Jfrog}},
			map[string]int64{"fail": 1}},
		{"no type", inventory.RegistryStatsFilter{ProjectID: "p1", Types: []inventory.RegistryType{}}, map[string]int64{}},
		{"enterprise project", inventory.RegistryStatsFilter{ProjectID: "p1", EnterpriseProjects: []string{"ep2"}},
			map[string]int64{"syncing": 1}},
		{"no enterprise project", inventory.RegistryStatsFilter{ProjectID: "p1", EnterpriseProjects: []string{}}, map[string]int64{}},
		{"unknown project", inventory.RegistryStatsFilter{ProjectID: "p9"}, map[string]int64{}},
	}
	for _, tc := range cases {
		got, err := e.st.CountRegistriesByStatus(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	regs, total, err := e.st.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: "p1",
		Statuses: inventory.StoredRegistryStatuses(inventory.RegistryAccessing)})
	var ids []int64
	for _, r := range regs {
		ids = append(ids, r.ID)
	}
	if err != nil || total != 2 || !slices.Equal(ids, []int64{syncing.ID, pending.ID}) {
		t.Fatalf("accessing connections: %v (total %d), %v; want %d and %d", ids, total, err, syncing.ID, pending.ID)
	}
}
