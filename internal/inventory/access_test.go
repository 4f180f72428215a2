package inventory

import "testing"

func TestGrantCovers(t *testing.T) {
	all, none := Grant{All: true}, Grant{IDs: []string{}}
	ep1, ep12 := Grant{IDs: []string{"ep1"}}, Grant{IDs: []string{"ep2", "ep1"}}
	for _, tc := range []struct {
		name string
		g, o Grant
		want bool
	}{
		{"all covers all", all, all, true},
		{"all covers some", all, ep12, true},
		{"some does not cover all", ep12, all, false},
		{"a superset covers", ep12, ep1, true},
		{"a subset does not cover", ep1, ep12, false},
		{"equal sets cover", ep12, Grant{IDs: []string{"ep1", "ep2"}}, true},
		{"anything covers none", ep1, none, true},
		{"none covers only none", none, ep1, false},
	} {
		if got := tc.g.Covers(tc.o); got != tc.want {
			t.Errorf("%s: %+v.Covers(%+v) = %v, want %v", tc.name, tc.g, tc.o, got, tc.want)
		}
	}
}
