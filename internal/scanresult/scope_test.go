package scanresult_test

import (
	"testing"

	"github.com/openhss/openhss/internal/scanresult"
)

func TestScope(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     scanresult.Scope
		parts scanresult.Scope
		vul   bool
		all   bool
	}{
		{"all", scanresult.ScopeAll, 0x000fffff, true, true},
		{"one bit of a group", 0x00010000, scanresult.ScopeVulnerabilities, true, false},
		{"vulnerabilities", 983040, scanresult.ScopeVulnerabilities, true, false},
		{"baseline and malware", 0x0000ff00, scanresult.ScopeBaseline | scanresult.ScopeMalware, false, false},
		{"outside every group", 0x00100000, 0, false, false},
		{"compliance", 1, scanresult.ScopeCompliance, false, false},
		{"every group by one bit", 0x00011111, 0x000fffff, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Parts(); got != tc.parts {
				t.Errorf("Parts() = %#x, want %#x", got, tc.parts)
			}
			if got := tc.s.Has(scanresult.ScopeVulnerabilities); got != tc.vul {
				t.Errorf("Has(vulnerabilities) = %v, want %v", got, tc.vul)
			}
			if got := tc.s.Complete(); got != tc.all {
				t.Errorf("Complete() = %v, want %v", got, tc.all)
			}
		})
	}
	a := scanresult.Analysis{Baseline: []scanresult.BaselineResult{{}}, WeakPasswords: []scanresult.WeakPassword{{}},
		Malware: []scanresult.Malware{{}}, FileHashes: []scanresult.FileHash{{}}, Secrets: []scanresult.Secret{{}}}
	k := scanresult.ScopeBaseline.Keep(a)
	if len(k.Baseline) != 1 || len(k.WeakPasswords) != 1 || k.Malware != nil || k.FileHashes != nil || k.Secrets != nil {
		t.Errorf("ScopeBaseline.Keep = %+v", k)
	}
}
