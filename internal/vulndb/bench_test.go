package vulndb_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/vulndb"
)

// BenchmarkImportGoVulnDB imports the whole Go vulnerability database
// (4,789 records) into a fresh SQLite file per iteration.
func BenchmarkImportGoVulnDB(b *testing.B) {
	dir := goVulnDBDir(b)
	for b.Loop() {
		b.StopTimer()
		db, st := openDB(b)
		b.StartTimer()
		res, err := db.Import(context.Background(), dir)
		if err != nil || res.Written != 4789 {
			b.Fatalf("import = %+v, %v", res, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// debianPackageSet reads the minimal bookworm install of
// testdata/osv and grows it to n packages: the real binary → source
// rows first, then further binaries of those sources and binaries of
// sources the data does not know (most packages of a real image have no
// record at all).
func debianPackageSet(tb testing.TB, n int) []scanresult.Package {
	tb.Helper()
	f, err := os.Open(filepath.Join(osvtestdata.Dir(tb), "debian-12-package-set.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var real []scanresult.Package
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		real = append(real, scanresult.Package{Ecosystem: "Debian:12", Name: fields[0], Version: fields[1],
			SourceName: fields[2], SourceVersion: fields[3]})
	}
	if len(real) == 0 {
		tb.Fatal("empty package set")
	}
	pkgs := append([]scanresult.Package(nil), real...)
	for i := 0; len(pkgs) < n; i++ {
		p := real[i%len(real)]
		p.Name = fmt.Sprintf("%s-extra%d", p.Name, i)
		if i%2 == 1 {
			p.SourceName = fmt.Sprintf("unrecorded-source-%d", i)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs[:n]
}

// BenchmarkMatchDebian700 matches a 700-package Debian 12 set against the
// Debian 12 records.
func BenchmarkMatchDebian700(b *testing.B) {
	db, _ := openDB(b)
	mustImport(b, db, osvtestdata.Dir(b, "debian-12"))
	pkgs := debianPackageSet(b, 700)
	ctx := context.Background()
	var findings int
	for b.Loop() {
		fs, err := db.Match(ctx, pkgs)
		if err != nil {
			b.Fatal(err)
		}
		findings = len(fs)
	}
	b.ReportMetric(float64(findings), "findings")
}

// TestDebianPackageSetOpenRecords: every open record (no fix in bookworm)
// whose source package is in the minimal install is reported for it.
func TestDebianPackageSetOpenRecords(t *testing.T) {
	db, _ := openDB(t)
	dir := osvtestdata.Dir(t, "debian-12")
	mustImport(t, db, dir)
	pkgs := debianPackageSet(t, 700)
	sources := map[string]bool{}
	for _, p := range pkgs {
		sources[p.SourceName] = true
	}
	fs, err := db.Match(context.Background(), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, f := range fs {
		reported[pkgs[f.Package].SourceName+" "+f.VulnID] = true
		if pkgs[f.Package].SourceName == "" || strings.HasPrefix(pkgs[f.Package].SourceName, "unrecorded-") {
			t.Errorf("finding for a package without records: %+v", f)
		}
	}
	open := 0
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := vulndb.ParseOSV(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range rec.Affected {
			hasFix := false
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					hasFix = hasFix || e.Fixed != ""
				}
			}
			if hasFix || !sources[a.Name] {
				continue
			}
			open++
			if !reported[a.Name+" "+rec.ID] {
				t.Errorf("open record %s for installed source %s not reported", rec.ID, a.Name)
			}
		}
	}
	if open < 20 {
		t.Fatalf("only %d open records for installed sources; the data changed?", open)
	}
}
