package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
)

// TestMain lets the test binary stand in for openhss-bench when the scan
// benchmark starts itself as a child (scan-child, measure).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		root := newRootCmd()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Stderr.WriteString("openhss-bench: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestScanBenchSmall runs the whole scan benchmark at small scale on a
// tiny Debian-like tree: every scan must succeed, the Go image must have
// vulnerabilities, the re-match must cover every stored inventory without
// a registry request.
func TestScanBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go binaries and downloads the Go vulnerability database")
	}
	rootfs := t.TempDir()
	files := map[string]string{
		"usr/lib/os-release":  "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status": "Package: tar\nStatus: install ok installed\nVersion: 1.34+dfsg-1.2+deb12u1\nArchitecture: amd64\n\nPackage: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u10\nArchitecture: amd64\n",
	}
	for name, body := range files {
		p := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(rootfs, "etc", "os-release")); err != nil { // as in bookworm
		t.Fatal(err)
	}
	o := defaultScanBenchOptions()
	o.Rootfs, o.VulnData = rootfs, osvtestdata.Dir(t)
	o.CacheDir, o.Dir = t.TempDir(), t.TempDir()
	o.Runs, o.GoBinaries, o.SmallImages, o.Inventories, o.BigImageMB = 1, 2, 3, 10, 2
	o.Syft = filepath.Join(t.TempDir(), "no-syft")
	o.RematchRuns = 2
	// With a PostgreSQL server, the re-match is measured there too.
	o.Postgres = os.Getenv("OPENHSS_TEST_POSTGRES")
	rep, err := runScanBench(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 3 {
		t.Fatalf("%d images measured, want 3", len(rep.Images))
	}
	for _, im := range rep.Images {
		if len(im.OpenHSS) != 1 || len(im.WithAnalyzers) != 1 || im.Packages == 0 || im.OpenHSS[0].MaxRSSBytes <= 0 || im.OpenHSS[0].WallSeconds <= 0 {
			t.Errorf("%s: %+v", im.Name, im)
		}
	}
	if g := rep.Images[1]; g.VulNum == 0 {
		t.Errorf("the Go image (x/text v0.3.7) has vul_num 0")
	}
	if d := rep.Images[0]; d.VulNum < 2 { // DEBIAN-CVE-2005-2541 (tar) and glibc's open records
		t.Errorf("the Debian tree has vul_num %d, want the open tar and glibc records", d.VulNum)
	}
	if r := rep.Rematch; r.Seeded != 10 || r.Images != 10+len(rep.Images) || r.Requests != 0 || len(r.Runs) != 2 || r.Findings == 0 {
		t.Errorf("re-match %+v: want 10 seeded + %d scanned, findings, two runs and no registry request", r, len(rep.Images))
	}
	if pg := rep.RematchPostgres; o.Postgres != "" {
		// The same inventories against the same data: the same findings.
		if pg == nil || pg.Images != rep.Rematch.Images || pg.Findings != rep.Rematch.Findings || pg.Requests != 0 || len(pg.Runs) != 2 {
			t.Errorf("re-match on PostgreSQL %+v, on SQLite %+v", pg, rep.Rematch)
		}
	} else if pg != nil {
		t.Errorf("re-match on PostgreSQL without --postgres: %+v", pg)
	}
	if tp := rep.Throughput; tp.Failed != 0 || tp.Images != 3 || tp.PerMinute <= 0 {
		t.Errorf("throughput %+v", tp)
	}
	if rep.Syft == "" || len(rep.Images[0].Syft) != 0 {
		t.Errorf("syft: %q, runs %d; want it reported as not run", rep.Syft, len(rep.Images[0].Syft))
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}
