package analyzers_test

import (
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/analyzers"
	"github.com/openhss/openhss/internal/scanresult"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    analyzers.Options
		want    []string // analyzer names, in order; nil when New fails
		wantErr bool
	}{
		{name: "defaults", want: []string{"baseline", "malware", "secrets"}},
		{name: "allowlist", opts: analyzers.Options{SecretAllowlist: []string{"/srv/fixtures/*"}},
			want: []string{"baseline", "malware", "secrets"}},
		{name: "bad allowlist glob", opts: analyzers.Options{SecretAllowlist: []string{"/srv/[x"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as, err := analyzers.New(tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: err %v, want error %v", err, tc.wantErr)
			}
			var names []string
			for _, a := range as {
				names = append(names, a.Name())
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("analyzers %v, want %v", names, tc.want)
			}
		})
	}
}

// TestScopes: every registered analyzer is one part of a scan's scope
// (scanner.Scoped), each part at most once, so that a scan_scope that
// leaves a part out really leaves its analyzer out.
func TestScopes(t *testing.T) {
	as, err := analyzers.New(analyzers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]scanresult.Scope{"baseline": scanresult.ScopeBaseline, "malware": scanresult.ScopeMalware,
		"secrets": scanresult.ScopeSecrets}
	seen := map[scanresult.Scope]string{}
	for _, a := range as {
		sc, ok := a.(scanner.Scoped)
		if !ok {
			t.Errorf("analyzer %s is not scanner.Scoped: it would run in every scan", a.Name())
			continue
		}
		if sc.Scope() != want[a.Name()] {
			t.Errorf("analyzer %s has scope %#x, want %#x", a.Name(), sc.Scope(), want[a.Name()])
		}
		if other, dup := seen[sc.Scope()]; dup {
			t.Errorf("analyzers %s and %s share scope %#x", other, a.Name(), sc.Scope())
		}
		seen[sc.Scope()] = a.Name()
	}
}
