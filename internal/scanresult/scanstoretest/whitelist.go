package scanstoretest

import (
	"reflect"
	"testing"
)

// testPathWhitelist: a project's list is replaced whole, keeps its order,
// is the project's alone, and an empty list clears it.
func testPathWhitelist(t *testing.T, e *env) {
	get := func(project string) []string {
		t.Helper()
		got, err := e.st.SensitivePathWhitelist(e.ctx, project)
		if err != nil {
			t.Fatalf("SensitivePathWhitelist(%s): %v", project, err)
		}
		return got
	}
	set := func(project string, paths ...string) {
		t.Helper()
		if err := e.st.SetSensitivePathWhitelist(e.ctx, project, paths); err != nil {
			t.Fatalf("SetSensitivePathWhitelist(%s): %v", project, err)
		}
	}
	if got := get("p1"); got == nil || len(got) != 0 {
		t.Fatalf("list before any set = %#v; want empty, not nil", got)
	}
	set("p1", "/srv/z.pem", "/opt/*/keys", "/a")
	set("p2", "/etc/p2")
	if got, want := get("p1"), []string{"/srv/z.pem", "/opt/*/keys", "/a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("p1 list = %q; want %q (order kept)", got, want)
	}
	set("p1", "/b")
	if got, want := get("p1"), []string{"/b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("p1 list after a replace = %q; want %q", got, want)
	}
	if got, want := get("p2"), []string{"/etc/p2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("p2 list = %q; want %q (another project's replace leaves it)", got, want)
	}
	set("p1")
	if got := get("p1"); len(got) != 0 {
		t.Fatalf("p1 list after an empty set = %q; want empty", got)
	}
}
