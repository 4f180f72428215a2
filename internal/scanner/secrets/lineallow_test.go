package secrets

import (
	"context"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/sources"
)

// matchContext cuts gitleaks' Line of a finding around its match, on the
// first line, on a later line and on an unterminated last line (where
// gitleaks' Line is the whole fragment up to the match's line end).
func TestMatchContext(t *testing.T) {
	cfg, err := defaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	la := takeLineAllowlists(&cfg)
	if len(la.rules["generic-api-key"]) == 0 {
		t.Fatal("generic-api-key has no line allowlist to take: the default rules changed")
	}
	det := detect.NewDetector(cfg)
	filler := strings.Repeat("x ", 2000)
	secret := func(i int) string { return "api_key=Zx81Qw27Er63Ty45Ui0" + string(rune('a'+i)) }
	for _, tc := range []struct{ name, raw string }{
		{"first line", filler + secret(0) + filler + "\nnext line\n"},
		{"later line", "one\ntwo\n" + filler + secret(1) + filler + "\nlast\n"},
		{"unterminated last line", "one\ntwo\n" + filler + "\n" + filler + secret(2) + " " + filler},
		{"short line", "one\n" + secret(3) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found := detectFragment(context.Background(), det, sources.Fragment{Raw: tc.raw, FilePath: "/app/x.env", StartLine: 1})
			if len(found) == 0 {
				t.Fatal("no finding")
			}
			for _, f := range found {
				got := matchContext(f)
				if !strings.Contains(got, f.Match) {
					t.Errorf("context %q lacks the match %q", got, f.Match)
				}
				if strings.Contains(strings.TrimPrefix(got, "\n"), "\n") {
					t.Errorf("context spans lines: %q", got)
				}
				if len(got) > len(f.Match)+2*lineContext {
					t.Errorf("context of %d bytes, want at most %d", len(got), len(f.Match)+2*lineContext)
				}
				if tc.name == "short line" && got != f.Line {
					t.Errorf("short line cut: %q, want %q", got, f.Line)
				}
			}
		})
	}
}
