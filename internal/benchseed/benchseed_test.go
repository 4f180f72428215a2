package benchseed

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestGenerate checks the layout the stores and the bench command rely on:
// row and repository counts, one latest row per repository (its newest),
// repository order, and the same data for the same seed.
func TestGenerate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"even", Spec{ProjectID: "p", Rows: 400, Namespaces: 4, Repos: 40}, true},
		{"uneven", Spec{ProjectID: "p", Rows: 1003, Namespaces: 7, Repos: 61}, true},
		{"one tag each", Spec{ProjectID: "p", Rows: 5, Namespaces: 5, Repos: 5}, true},
		{"three registries", Spec{ProjectID: "p", Rows: 400, Namespaces: 4, Repos: 40, Registries: 3}, true},
		{"no namespaces", Spec{ProjectID: "p", Rows: 5, Namespaces: 0, Repos: 5}, false},
		{"fewer repos than namespaces", Spec{ProjectID: "p", Rows: 5, Namespaces: 3, Repos: 2}, false},
		{"fewer rows than repos", Spec{ProjectID: "p", Rows: 4, Namespaces: 2, Repos: 5}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Generate(tc.spec, rand.New(rand.NewPCG(1, 2)))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if len(inv.Rows) != tc.spec.Rows || inv.Registries[0].ProjectID != tc.spec.ProjectID {
				t.Fatalf("%d rows for project %q", len(inv.Rows), inv.Registries[0].ProjectID)
			}
			if want := max(tc.spec.Registries, 1); len(inv.Registries) != want {
				t.Fatalf("%d registries, want %d", len(inv.Registries), want)
			}
			perRegistry := make([]int, len(inv.Registries))
			for _, r := range inv.Rows {
				perRegistry[r.Registry]++
				if (r.Status == inventory.ScanSuccess) != (r.Severity != "") || (r.Severity == "Security") != (r.Status == inventory.ScanSuccess && r.Vul == 0) {
					t.Fatalf("row %+v: severity %q does not follow its status and vulnerabilities", r, r.Severity)
				}
			}
			if slices.Contains(perRegistry, 0) {
				t.Fatalf("a registry without rows: %v", perRegistry)
			}
			type repo struct{ ns, name string }
			latest := map[repo]int{}
			newest := map[repo]int64{}
			for i, r := range inv.Rows {
				k := repo{r.Namespace, r.Name}
				if i > 0 {
					p := inv.Rows[i-1]
					if (p.Namespace > r.Namespace) || (p.Namespace == r.Namespace && p.Name > r.Name) ||
						(p.Namespace == r.Namespace && p.Name == r.Name && p.LatestUpdateTime > r.LatestUpdateTime) {
						t.Fatalf("row %d out of order: %+v after %+v", i, r, p)
					}
				}
				if r.Latest {
					latest[k]++
				}
				newest[k] = max(newest[k], r.LatestUpdateTime)
			}
			if len(newest) != tc.spec.Repos {
				t.Fatalf("%d repositories, want %d", len(newest), tc.spec.Repos)
			}
			for _, r := range inv.Rows {
				k := repo{r.Namespace, r.Name}
				if latest[k] != 1 {
					t.Fatalf("%v has %d latest rows", k, latest[k])
				}
				if r.Latest && r.LatestUpdateTime != newest[k] {
					t.Fatalf("%v: latest row %s is not the newest", k, r.Tag)
				}
			}
			again, err := Generate(tc.spec, rand.New(rand.NewPCG(1, 2)))
			if err != nil || !reflect.DeepEqual(inv, again) {
				t.Fatalf("same seed, different inventory (%v)", err)
			}
			other, _ := Generate(tc.spec, rand.New(rand.NewPCG(3, 4)))
			if reflect.DeepEqual(inv, other) {
				t.Fatal("another seed, the same inventory")
			}
		})
	}
}
