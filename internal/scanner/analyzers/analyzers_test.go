package analyzers_test

import (
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/scanner/analyzers"
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
