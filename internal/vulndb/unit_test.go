package vulndb

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestKeyForPyPINames(t *testing.T) {
	if KeyFor("PyPI", "Zope.Interface") != KeyFor("pypi", "zope_interface") {
		t.Fatalf("PEP 503 names differ: %v vs %v", KeyFor("PyPI", "Zope.Interface"), KeyFor("pypi", "zope_interface"))
	}
	if KeyFor("npm", "React") == KeyFor("npm", "react") {
		t.Fatal("npm names must compare exactly")
	}
}

func TestGoVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"go1.21.3", "1.21.3"},
		{"go1.21", "1.21.0"},
		{"go1.21rc2", "1.21.0-rc.2"},
		{"go1.19beta1", "1.19.0-beta.1"},
		{"v0.3.7", "0.3.7"},
		{"0.3.7", "0.3.7"},
		{"v0.0.0-20210101000000-abcdefabcdef", "0.0.0-20210101000000-abcdefabcdef"},
	} {
		if got := goVersion(tc.in); got != tc.want {
			t.Errorf("goVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBaseScore(t *testing.T) {
	for _, tc := range []struct {
		typ, vector string
		want        float64
		ok          bool
	}{
		{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, true},
		{"CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, true},
		{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, true},
		{"CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0, true},
		{"CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, true},
		{"CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, true},
		{"CVSS_V3", "CVSS:3.1/AV:X", 0, false},
		{"Ubuntu", "medium", 0, false},
	} {
		got, ok := baseScore(tc.typ, tc.vector)
		if got != tc.want || ok != tc.ok {
			t.Errorf("baseScore(%s, %s) = %v, %v; want %v, %v", tc.typ, tc.vector, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRate(t *testing.T) {
	v31 := func(vector string) []Severity { return scoreAll([]osvSeverity{{Type: "CVSS_V3", Score: vector}}) }
	for _, tc := range []struct {
		name      string
		rec       Record
		aff       Affected
		wantScore float64
		wantLabel string
		want      RepairNecessity
	}{
		{"cvss 9.8", Record{Severity: v31("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")}, Affected{}, 9.8, "critical", ImmediateRepair},
		{"cvss 6.1", Record{Severity: v31("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")}, Affected{}, 6.1, "medium", DelayRepair},
		{"cvss 3.3", Record{Severity: v31("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:L")}, Affected{}, 3.3, "low", NotNeededRepair},
		{"cvss 0.0 is a score", Record{Severity: v31("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N")}, Affected{}, 0, "none", NotNeededRepair},
		{"affected-level cvss wins", Record{Severity: v31("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")},
			Affected{Severity: v31("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")}, 6.1, "medium", DelayRepair},
		{"v3 preferred over v4", Record{Severity: scoreAll([]osvSeverity{
			{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
			{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}})}, Affected{}, 6.1, "medium", DelayRepair},
		{"v4 alone", Record{Severity: scoreAll([]osvSeverity{
			{Type: "CVSS_V4", Score: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}})}, Affected{}, 9.3, "critical", ImmediateRepair},
		{"ghsa rating", Record{Rating: "high"}, Affected{}, 0, "high", ImmediateRepair},
		{"ghsa moderate", Record{Rating: "moderate"}, Affected{}, 0, "moderate", DelayRepair},
		{"ubuntu low", Record{Rating: "low"}, Affected{}, 0, "low", NotNeededRepair},
		{"debian unimportant", Record{}, Affected{Rating: "unimportant"}, 0, "unimportant", NotNeededRepair},
		{"distro rating beats record rating", Record{Rating: "high"}, Affected{Rating: "low"}, 0, "low", NotNeededRepair},
		{"unknown word", Record{Rating: "none"}, Affected{}, 0, "none", DelayRepair},
		{"nothing", Record{}, Affected{}, 0, "unknown", DelayRepair},
		{"unparseable vector falls back", Record{Severity: v31("CVSS:3.1/garbage"), Rating: "critical"}, Affected{}, 0, "critical", ImmediateRepair},
	} {
		t.Run(tc.name, func(t *testing.T) {
			score, label, nec := Rate(&tc.rec, &tc.aff)
			if score != tc.wantScore || label != tc.wantLabel || nec != tc.want {
				t.Errorf("Rate = %v, %q, %s; want %v, %q, %s", score, label, nec, tc.wantScore, tc.wantLabel, tc.want)
			}
		})
	}
}

func TestAffectsEvents(t *testing.T) {
	ev := func(kind, v string) Event {
		switch kind {
		case "i":
			return Event{Introduced: v}
		case "f":
			return Event{Fixed: v}
		case "la":
			return Event{LastAffected: v}
		default:
			return Event{Limit: v}
		}
	}
	semver := func(events ...Event) Affected {
		return Affected{Ecosystem: "Go", Name: "m", Ranges: []Range{{Type: "SEMVER", Events: events}}}
	}
	deb := func(events ...Event) Affected {
		return Affected{Ecosystem: "Debian:12", Name: "p", Ranges: []Range{{Type: "ECOSYSTEM", Events: events}}}
	}
	for _, tc := range []struct {
		name      string
		aff       Affected
		version   string
		want      bool
		wantFixed string
	}{
		{"intro 0 fixed: below", semver(ev("i", "0"), ev("f", "1.2.0")), "1.1.9", true, "1.2.0"},
		{"intro 0 fixed: at fix", semver(ev("i", "0"), ev("f", "1.2.0")), "1.2.0", false, ""},
		{"intro 0 fixed: above", semver(ev("i", "0"), ev("f", "1.2.0")), "1.3.0", false, ""},
		{"introduced: below", semver(ev("i", "1.0.0"), ev("f", "1.2.0")), "0.9.0", false, ""},
		{"introduced: at", semver(ev("i", "1.0.0"), ev("f", "1.2.0")), "1.0.0", true, "1.2.0"},
		{"two ranges: gap", semver(ev("i", "0"), ev("f", "1.20.11"), ev("i", "1.21.0-0"), ev("f", "1.21.4")), "1.20.12", false, ""},
		{"two ranges: second", semver(ev("i", "0"), ev("f", "1.20.11"), ev("i", "1.21.0-0"), ev("f", "1.21.4")), "1.21.3", true, "1.21.4"},
		{"two ranges: rc in second", semver(ev("i", "0"), ev("f", "1.20.11"), ev("i", "1.21.0-0"), ev("f", "1.21.4")), "go1.21rc2", true, "1.21.4"},
		{"two ranges: first", semver(ev("i", "0"), ev("f", "1.20.11"), ev("i", "1.21.0-0"), ev("f", "1.21.4")), "go1.20.10", true, "1.20.11"},
		{"events out of order", semver(ev("f", "1.21.4"), ev("i", "1.21.0-0"), ev("f", "1.20.11"), ev("i", "0")), "1.20.12", false, ""},
		{"events out of order, in", semver(ev("f", "1.21.4"), ev("i", "1.21.0-0"), ev("f", "1.20.11"), ev("i", "0")), "1.21.1", true, "1.21.4"},
		{"last_affected: at", semver(ev("i", "0"), ev("la", "2.0.0")), "2.0.0", true, ""},
		{"last_affected: above", semver(ev("i", "0"), ev("la", "2.0.0")), "2.0.1", false, ""},
		{"open range", semver(ev("i", "1.0.0")), "9.9.9", true, ""},
		{"limit: below", semver(ev("i", "0"), ev("l", "2.0.0")), "1.5.0", true, ""},
		{"limit: at", semver(ev("i", "0"), ev("l", "2.0.0")), "2.0.0", false, ""},
		{"limit star", semver(ev("i", "0"), ev("l", "*")), "99.0.0", true, ""},
		{"go module v prefix", semver(ev("i", "0"), ev("f", "0.3.8")), "v0.3.7", true, "0.3.8"},
		{"dpkg epoch beats upstream", deb(ev("i", "0"), ev("f", "1:4.4-4")), "4.13+dfsg1-1", true, "1:4.4-4"},
		{"dpkg epoch, same epoch newer", deb(ev("i", "0"), ev("f", "1:4.4-4")), "1:4.13+dfsg1-1", false, ""},
		{"dpkg tilde below", deb(ev("i", "0"), ev("f", "1.46.6~rc1-1")), "1.46.5-4", true, "1.46.6~rc1-1"},
		{"dpkg tilde sorts before release", deb(ev("i", "0"), ev("f", "1.46.6~rc1-1")), "1.46.6~rc0-1", true, "1.46.6~rc1-1"},
		{"dpkg release after tilde", deb(ev("i", "0"), ev("f", "1.46.6~rc1-1")), "1.46.6-1", false, ""},
		{"dpkg unparseable fixed skips range", deb(ev("i", "0"), ev("f", "x:1.0")), "1.0-1", false, ""},
		{"explicit versions", Affected{Ecosystem: "npm", Name: "x", Versions: []string{"1.0.0", "1.0.1"}}, "1.0.1", true, ""},
		{"explicit versions miss", Affected{Ecosystem: "npm", Name: "x", Versions: []string{"1.0.0", "1.0.1"}}, "1.0.2", false, ""},
		{"all versions", Affected{Ecosystem: "npm", Name: "x", AllVersions: true}, "3.0.0", true, ""},
		{"no usable ranges", Affected{Ecosystem: "npm", Name: "x"}, "3.0.0", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixed, got := Affects(&tc.aff, tc.version)
			if got != tc.want || fixed != tc.wantFixed {
				t.Errorf("Affects(%s) = %q, %v; want %q, %v", tc.version, fixed, got, tc.wantFixed, tc.want)
			}
		})
	}
}

func TestParseOSV(t *testing.T) {
	rec, err := ParseOSV([]byte(`{
		"id": "GHSA-xxxx", "modified": "2024-01-02T03:04:05.123Z", "withdrawn": "2024-02-01T00:00:00Z",
		"aliases": ["CVE-2024-1"], "upstream": ["CVE-2024-1", "CVE-2024-2"],
		"summary": " s ", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"affected": [
			{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "abc"}]},
				{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}]},
			{"ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "abc"}]}]},
			{"package": {"ecosystem": "npm", "name": "b"}, "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "abc"}]}]},
			{"package": {"ecosystem": "npm", "name": "c"}}
		],
		"references": [{"type": "WEB", "url": "https://w"}, {"type": "ADVISORY", "url": "https://a"}],
		"database_specific": {"severity": "HIGH"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if !rec.IsWithdrawn() || rec.Modified.Nanosecond() != 123e6 || rec.Summary != "s" || rec.URL != "https://a" || rec.Rating != "high" {
		t.Errorf("record fields: %+v", rec)
	}
	if got := rec.AllAliases(); len(got) != 2 || got[0] != "CVE-2024-1" || got[1] != "CVE-2024-2" {
		t.Errorf("AllAliases = %v", got)
	}
	if len(rec.Affected) != 3 {
		t.Fatalf("affected = %+v, want a, b, c (the package-less GIT entry dropped)", rec.Affected)
	}
	if a := rec.Affected[0]; len(a.Ranges) != 1 || a.Ranges[0].Type != "SEMVER" || a.AllVersions {
		t.Errorf("a: %+v", a)
	}
	if b := rec.Affected[1]; len(b.Ranges) != 0 || b.AllVersions {
		t.Errorf("b (GIT only) must never match: %+v", b)
	}
	if c := rec.Affected[2]; !c.AllVersions {
		t.Errorf("c (no ranges, no versions) must be AllVersions: %+v", c)
	}
	if s := rec.Severity[0]; s.Base == nil || *s.Base != 9.8 {
		t.Errorf("severity: %+v", s)
	}
	for _, bad := range []string{`{"id": "x"}`, `[]`, `{`, `{"modified": "2024-01-01T00:00:00Z"}`} {
		if _, err := ParseOSV([]byte(bad)); err == nil {
			t.Errorf("ParseOSV(%s) succeeded", bad)
		}
	}
}

// TestAppliesTo covers the shapes of imports the real records in
// testdata/osv/go do not: several imports of one entry, one of them
// unrestricted or for this platform, and goos and goarch together.
func TestAppliesTo(t *testing.T) {
	win := Import{Path: "golang.org/x/sys/windows", GOOS: []string{"windows"}}
	unix := Import{Path: "golang.org/x/sys/unix"}
	linuxArm := Import{Path: "internal/cpu", GOOS: []string{"linux", "android"}, GOARCH: []string{"arm64"}}
	for _, tc := range []struct {
		name     string
		imports  []Import
		platform string
		want     bool
	}{
		{"no imports", nil, "linux/amd64", true},
		{"unknown platform", []Import{win}, "", true},
		{"only other OS", []Import{win}, "linux/amd64", false},
		{"this OS", []Import{win}, "windows/arm64", true},
		{"one import unrestricted", []Import{win, unix}, "linux/amd64", true},
		{"one import for this platform", []Import{win, linuxArm}, "android/arm64", true},
		{"goos matches, goarch does not", []Import{win, linuxArm}, "linux/amd64", false},
		{"goarch matches, goos does not", []Import{linuxArm}, "darwin/arm64", false},
		{"arch unknown", []Import{linuxArm}, "linux/", true},
		{"OS unknown", []Import{linuxArm}, "/amd64", false},
	} {
		a := Affected{Ecosystem: "Go", Name: "golang.org/x/sys", Imports: tc.imports}
		if got := a.AppliesTo(tc.platform); got != tc.want {
			t.Errorf("%s: AppliesTo(%q) = %v, want %v", tc.name, tc.platform, got, tc.want)
		}
	}
}

// TestDescription checks the one-line description a finding carries: the
// summary, else the first line of the details, cut on a character
// boundary.
func TestDescription(t *testing.T) {
	long := strings.Repeat("a", maxDescription-1) + "é and more"
	for _, tc := range []struct {
		name string
		rec  Record
		want string
	}{
		{"summary wins", Record{Summary: "short", Details: "long\ntext"}, "short"},
		{"first line of details", Record{Details: "first line\nsecond line"}, "first line"},
		{"leading newline kept", Record{Details: "\nrest"}, "\nrest"},
		{"cut before a split character", Record{Details: long}, strings.Repeat("a", maxDescription-1) + "…"},
		{"empty", Record{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := description(&tc.rec)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("description = %q, want %q", got, tc.want)
			}
		})
	}
}
