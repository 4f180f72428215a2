package sqlq

import (
	"errors"
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
	m := ManifestInfo{Size: 5, Created: 9, Scannable: true, Status: "success", Vul: 1, UnsafeSetting: 2, Malicious: 3}
	for _, d := range []Dialect{SQLite, Postgres} {
		scan := SetScanResult(d, "sha256:a", inventory.ScanResult{FailedDesc: "f", ScanTime: 7, VulNum: 1, UnsafeSettingNum: 2, MaliciousFileNum: 3})
		local := PutLocalImage(d, img, "sha256:m", m, nil, 100)
		cases := []struct {
			name string
			st   Stmt
			want []any
		}{
			{"manifest scan result", scan[0], []any{"sha256:a", "unscan", "f", int64(7), int32(1), int32(2), int32(3)}},
			{"image scan result", scan[1], []any{"unscan", "f", int64(7), int32(1), int32(2), int32(3), "sha256:a"}},
			{"local image", local, []any{"p", "ep", "local_image", "ns", "n", "t", "idx", "sha256:m", d.Bool(true),
				int64(5), int64(100), int64(9), d.Bool(true), "success", "", int64(0), int32(1), int32(2), int32(3), int64(9)}},
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
		{"unknown manifest: the row's own", img, UnknownManifest(), nil, []any{int64(11), int64(50), int64(50), 1}},
		{"known by size", img, ManifestInfo{Size: 3, Created: 20}, nil, []any{int64(3), int64(50), int64(20), 0}},
		{"put with it, though empty", img, ManifestInfo{}, []inventory.Manifest{{Digest: "d"}}, []any{int64(0), int64(50), int64(50), 0}},
		{"no time: now", inventory.Image{ProjectID: "p", Name: "n", Tag: "t", Digest: "d"}, UnknownManifest(), nil, []any{int64(0), int64(100), int64(100), 0}},
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

func TestLocalImage(t *testing.T) {
	full := inventory.Image{ProjectID: "p", Name: "n", Tag: "t", Digest: "d"}
	got, md, err := LocalImage(Postgres, full)
	if err != nil || md != "d" || got.EnterpriseProjectID != inventory.DefaultEnterpriseProject {
		t.Errorf("LocalImage(%+v) = %+v, %q, %v", full, got, md, err)
	}
	full.ManifestDigest, full.EnterpriseProjectID = "m", "ep"
	if got, md, _ := LocalImage(SQLite, full); md != "m" || got.EnterpriseProjectID != "ep" {
		t.Errorf("LocalImage(%+v) = %+v, %q", full, got, md)
	}
	for _, missing := range []func(*inventory.Image){
		func(i *inventory.Image) { i.ProjectID = "" },
		func(i *inventory.Image) { i.Name = "" },
		func(i *inventory.Image) { i.Tag = "" },
		func(i *inventory.Image) { i.Digest = "" },
	} {
		img := full
		missing(&img)
		if _, _, err := LocalImage(SQLite, img); err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") {
			t.Errorf("LocalImage(%+v) = %v, want a sqlite: error", img, err)
		}
	}
}

func TestDiff(t *testing.T) {
	tags := func(ts ...inventory.TagRef) []inventory.TagRef { return ts }
	existing := func() Existing {
		e := Existing{}
		e.Add(Repo{"a", "x"}, "same", ExistingRow{ID: 1, Digest: "d1", ManifestDigest: "d1"})
		e.Add(Repo{"a", "x"}, "moved", ExistingRow{ID: 2, Digest: "d2", ManifestDigest: "d2"})
		e.Add(Repo{"a", "x"}, "gone", ExistingRow{ID: 3, Digest: "d3", ManifestDigest: "d3"})
		e.Add(Repo{"b", "y"}, "t", ExistingRow{ID: 4, Digest: "d4", ManifestDigest: "d4"})
		e.Add(Repo{"c", "z"}, "t", ExistingRow{ID: 5, Digest: "d5", ManifestDigest: "d5"})
		return e
	}
	snap := inventory.Snapshot{
		Repositories: []inventory.RepoSnapshot{
			{Namespace: "a", Name: "x", Tags: tags(
				inventory.TagRef{Tag: "new", Digest: "i", ManifestDigest: "m"},
				inventory.TagRef{Tag: "same", Digest: "d1"},
				inventory.TagRef{Tag: "moved", Digest: "d9"},
				inventory.TagRef{Tag: "new", Digest: "other"}, // listed twice: the first listing counts
			)},
			{Namespace: "n", Name: "w", Tags: tags(inventory.TagRef{Tag: "t", Digest: "e"})},
		},
		Failed: []string{"c/z"},
	}
	var got []Change
	res, touched, err := Diff(SQLite, snap, existing(), func(c Change) error { got = append(got, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Kind: Add, Repo: Repo{"a", "x"}, Tag: "new", Digest: "i", ManifestDigest: "m"},
		{Kind: Move, Repo: Repo{"a", "x"}, Tag: "moved", Digest: "d9", ManifestDigest: "d9", Old: ExistingRow{2, "d2", "d2"}},
		{Kind: Remove, Repo: Repo{"a", "x"}, Tag: "gone", Old: ExistingRow{3, "d3", "d3"}},
		{Kind: Add, Repo: Repo{"n", "w"}, Tag: "t", Digest: "e", ManifestDigest: "e"},
		{Kind: RemoveRepo, Repo: Repo{"b", "y"}, Tag: "t", Old: ExistingRow{4, "d4", "d4"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes =\n%+v\nwant\n%+v", got, want)
	}
	if wantRes := (inventory.SyncResult{Added: 2, Moved: 1, Removed: 2, Unchanged: 1}); res != wantRes {
		t.Errorf("result = %+v, want %+v", res, wantRes)
	}
	if wantTouched := []Repo{{"a", "x"}, {"n", "w"}}; !reflect.DeepEqual(touched, wantTouched) {
		t.Errorf("touched = %v, want %v", touched, wantTouched)
	}

	t.Run("apply error stops", func(t *testing.T) {
		boom := errors.New("boom")
		calls := 0
		_, _, err := Diff(Postgres, snap, existing(), func(Change) error { calls++; return boom })
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("err = %v after %d calls, want boom after 1", err, calls)
		}
	})
	t.Run("repository listed twice", func(t *testing.T) {
		twice := inventory.Snapshot{Repositories: []inventory.RepoSnapshot{{Namespace: "a", Name: "x"}, {Namespace: "a", Name: "x"}}}
		_, _, err := Diff(Postgres, twice, Existing{}, func(Change) error { return nil })
		if err == nil || err.Error() != "postgres: snapshot lists repository a/x twice" {
			t.Errorf("err = %v", err)
		}
	})
}
