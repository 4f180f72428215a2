package sqlstore

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// marks counts a statement's placeholders: each ? in SQLite, the distinct
// $n in PostgreSQL (which must run 1..n).
func marks(t *testing.T, d Dialect, q string) int {
	t.Helper()
	if d == SQLite {
		return strings.Count(q, "?")
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$[0-9]+`).FindAllString(q, -1) {
		seen[m] = true
	}
	for i := 1; i <= len(seen); i++ {
		if !seen[d.Placeholder(i)] {
			t.Errorf("%s: placeholders skip %s", q, d.Placeholder(i))
		}
	}
	return len(seen)
}

func TestWriteStatements(t *testing.T) {
	img := inventory.Image{ProjectID: "p", EnterpriseProjectID: "ep", Namespace: "ns", Name: "n", Tag: "t", Digest: "idx"}
	m := ManifestInfo{Size: 5, Created: 9, Scannable: true, Status: "success", Vul: 1, UnsafeSetting: 2, Malicious: 3, Severity: "High"}
	for _, d := range []Dialect{SQLite, Postgres} {
		scan := SetScanResult(d, "sha256:a", inventory.ScanResult{FailedDesc: "f", ScanTime: 7, VulNum: 1, UnsafeSettingNum: 2, MaliciousFileNum: 3, SeverityLevel: "Low"})
		local := PutLocalImage(d, img, "sha256:m", m, nil, 100)
		cases := []struct {
			name string
			st   Stmt
			want []any
		}{
			{"manifest scan result", scan[0], []any{"sha256:a", "unscan", "f", int64(7), int32(1), int32(2), int32(3), "Low"}},
			{"image scan result", scan[1], []any{"unscan", "f", int64(7), int32(1), int32(2), int32(3), "Low", "sha256:a"}},
			{"local image", local, []any{"p", "ep", "local_image", "ns", "n", "t", "idx", "sha256:m", true,
				int64(5), int64(100), int64(9), true, "success", "", int64(0), int32(1), int32(2), int32(3), "High", int64(9)}},
		}
		for _, c := range cases {
			t.Run(d.String()+"/"+c.name, func(t *testing.T) {
				if n := marks(t, d, c.st.SQL); n != len(c.st.Args) {
					t.Errorf("%d placeholders, %d arguments", n, len(c.st.Args))
				}
				if !reflect.DeepEqual(c.st.Args, c.want) {
					t.Errorf("args = %#v, want %#v", c.st.Args, c.want)
				}
			})
		}
	}
}

func TestPutLocalImageDerivations(t *testing.T) {
	img := inventory.Image{ProjectID: "p", Name: "n", Tag: "t", Digest: "d", Size: 11, Scannable: true, LatestUpdateTime: 50}
	cases := []struct {
		name      string
		img       inventory.Image
		m         ManifestInfo
		manifests []inventory.Manifest
		// size, first seen, update time, scannable
		want []any
	}{
		{"unknown manifest: the row's own", img, UnknownManifest(), nil, []any{int64(11), int64(50), int64(50), true}},
		{"known by size", img, ManifestInfo{Size: 3, Created: 20}, nil, []any{int64(3), int64(50), int64(20), false}},
		{"put with it, though empty", img, ManifestInfo{}, []inventory.Manifest{{Digest: "d"}}, []any{int64(0), int64(50), int64(50), false}},
		{"no time: now", inventory.Image{ProjectID: "p", Name: "n", Tag: "t", Digest: "d"}, UnknownManifest(), nil, []any{int64(0), int64(100), int64(100), false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := PutLocalImage(SQLite, c.img, "d", c.m, c.manifests, 100)
			got := []any{st.Args[9], st.Args[10], st.Args[11], st.Args[12]}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("size, first seen, update time, scannable = %v, want %v", got, c.want)
			}
		})
	}
}
