package console

import (
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestPageRole: a GET page is every role's; a POST page needs the role it
// names, admin when it names none, so that a new action is refused until
// its route says who may use it (docs/console.md, Roles).
func TestPageRole(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    page
		want inventory.Role
	}{
		{"GET", page{}, inventory.RoleViewer},
		{"GET naming a role", page{need: inventory.RoleAdmin}, inventory.RoleViewer},
		{"POST naming none", page{post: true}, inventory.RoleAdmin},
		{"POST naming operator", page{post: true, need: inventory.RoleOperator}, inventory.RoleOperator},
	} {
		if got := tc.p.role(); got != tc.want {
			t.Errorf("%s: role() = %s, want %s", tc.name, got, tc.want)
		}
	}
}
