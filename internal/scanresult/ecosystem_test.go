package scanresult

import "testing"

func TestNormalizeEcosystem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Debian:12", "Debian:12"},
		{"Debian:12.5", "Debian:12"},
		{"debian:bookworm", "Debian:12"},
		{"Alpine:v3.20", "Alpine:v3.20"},
		{"Alpine:3.20.3", "Alpine:v3.20"},
		{"Alpine:v3.20.1", "Alpine:v3.20"},
		{"Alpine:edge", "Alpine:edge"},
		{"Ubuntu:24.04:LTS", "Ubuntu:24.04"},
		{"Ubuntu:24.04", "Ubuntu:24.04"},
		{"Ubuntu:noble", "Ubuntu:24.04"},
		{"Ubuntu:Pro:18.04:LTS", "Ubuntu:Pro:18.04"},
		{"Go", "Go"},
		{"golang", "Go"},
		{"pypi", "PyPI"},
		{"npm", "npm"},
		{"Maven", "Maven"},
		{"Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::appstream"},
	} {
		if got := NormalizeEcosystem(tc.in); got != tc.want {
			t.Errorf("NormalizeEcosystem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
