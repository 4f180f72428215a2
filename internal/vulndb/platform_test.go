package vulndb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/vulndb"
)

// TestGoPlatform matches the packages of one Go binary, built for each
// platform, against real Go vulnerability database records (see
// testdata/osv/go/README.md): records whose vulnerable code is only built
// for other platforms are not reported.
func TestGoPlatform(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t)
	res, err := db.Import(ctx, osvtestdata.Dir(t, "go"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 11 || res.Invalid != 0 {
		t.Fatalf("import = %+v, want the 11 records of testdata/osv/go", res)
	}
	// Versions affected by every record of their package in testdata.
	pkgs := []scanresult.Package{
		{Ecosystem: "Go", Name: "stdlib", Version: "go1.22.0"},
		{Ecosystem: "Go", Name: "golang.org/x/crypto", Version: "v0.0.0-20190308221718-c2843e01d9a2"},
		{Ecosystem: "Go", Name: "golang.org/x/sys", Version: "v0.0.0-20211216021012-1d35b9e2eb4e"},
		{Ecosystem: "Go", Name: "github.com/opencontainers/runc", Version: "v1.0.0-rc90"},
	}
	// everywhere are the records that apply on every platform: imports
	// without goos/goarch, or none at all (GO-2022-0396).
	everywhere := []string{"GO-2022-0396", "GO-2022-0493", "GO-2024-2687", "GO-2026-5020"}
	for _, tc := range []struct {
		platform string
		want     []string
	}{
		// The five records osv-scanner and govulncheck leave out for a
		// linux/amd64 binary; GO-2026-4864 (goos linux) and GO-2022-0209
		// (goarch amd64) stay.
		{"linux/amd64", append([]string{"GO-2022-0209", "GO-2026-4864"}, everywhere...)},
		{"windows/amd64", append([]string{"GO-2022-0209", "GO-2024-2961", "GO-2025-3750", "GO-2026-5024", "GO-2026-6604"}, everywhere...)},
		{"linux/ppc64le", append([]string{"GO-2025-3447", "GO-2026-4864"}, everywhere...)},
		{"darwin/arm64", everywhere},
		// Unknown: every record, as before platforms were read.
		{"", append([]string{"GO-2022-0209", "GO-2024-2961", "GO-2025-3447", "GO-2025-3750", "GO-2026-4864",
			"GO-2026-5024", "GO-2026-6604"}, everywhere...)},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			in := slices.Clone(pkgs)
			for i := range in {
				in[i].Platform = tc.platform
			}
			fs, err := db.Match(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.VulnID)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("findings on %q:\n got %v\nwant %v", tc.platform, got, want)
			}
		})
	}
}

// TestGoImportsStoredOnlyWhenRestricted: a record whose imports all apply
// everywhere keeps the stored form it had before imports were read, so
// that re-importing the database rewrites only the restricted records.
func TestGoImportsStoredOnlyWhenRestricted(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want []vulndb.Import
	}{
		{"GO-2026-5020", nil},
		{"GO-2022-0396", nil},
		{"GO-2026-5024", []vulndb.Import{{Path: "golang.org/x/sys/windows", GOOS: []string{"windows"}}}},
		{"GO-2025-3447", []vulndb.Import{{Path: "crypto/internal/nistec", GOARCH: []string{"ppc64le"}}}},
	} {
		data, err := os.ReadFile(filepath.Join(osvtestdata.Dir(t, "go"), tc.id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := vulndb.ParseOSV(data)
		if err != nil {
			t.Fatal(err)
		}
		got := rec.Affected[0].Imports
		if !slices.EqualFunc(got, tc.want, func(a, b vulndb.Import) bool {
			return a.Path == b.Path && slices.Equal(a.GOOS, b.GOOS) && slices.Equal(a.GOARCH, b.GOARCH)
		}) {
			t.Errorf("%s imports = %+v, want %+v", tc.id, got, tc.want)
		}
	}
}
