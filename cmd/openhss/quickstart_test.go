package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store"
)

// quickstartImages opens the store of a quickstart's data directory and
// returns its private image rows by NS/NAME:TAG.
func quickstartImages(t *testing.T, data string) (store.Store, map[string]inventory.Image) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(data, "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	page, err := st.ListImages(context.Background(), inventory.Filter{ProjectID: quickstartProject, Type: inventory.PrivateImage, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]inventory.Image{}
	for _, img := range page.Images {
		rows[img.Namespace+"/"+img.Name+":"+img.Tag] = img
	}
	return st, rows
}

// TestQuickstartDefaultDataDir runs the tour the way the README says, from
// an empty directory with the default relative ./openhss-data: the go
// command that builds the vulnerable sample runs in another directory, so
// every path handed to it must be absolute.
func TestQuickstartDefaultDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("OPENHSS_DATA", "")
	t.Setenv("OPENHSS_DB", "")
	out, err := run(t, "", "quickstart", "--exit", "--listen", "127.0.0.1:0", "--log-level", "error")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "skipping") {
		t.Fatalf("the quickstart skipped a sample:\n%s", out)
	}
	data := filepath.Join(dir, "openhss-data")
	if !strings.Contains(out, "data in "+data) {
		t.Errorf("output does not name the data directory %s:\n%s", data, out)
	}
	st, rows := quickstartImages(t, data)
	img, ok := rows["demo/goapp:1.0"]
	if !ok {
		t.Fatalf("no demo/goapp:1.0 row; rows: %v\n%s", rows, out)
	}
	if img.ScanStatus != inventory.ScanSuccess || img.VulNum < 1 {
		t.Fatalf("demo/goapp:1.0: scan %s, vul_num %d; want a successful scan with findings\n%s", img.ScanStatus, img.VulNum, out)
	}
	// The findings the HSS vulnerabilities route lists: it reads those of
	// the scanned manifest (the row's own digest when it is no index).
	digest := img.ManifestDigest
	if digest == "" {
		digest = img.Digest
	}
	_, vulns, err := st.ListVulns(context.Background(), scanresult.VulnFilter{Digest: digest, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vulns {
		ids = append(ids, v.VulnID)
	}
	if !strings.Contains(strings.Join(ids, " "), "GO-2022-1059") {
		t.Fatalf("demo/goapp:1.0 vulnerabilities %v lack GO-2022-1059", ids)
	}
}

// TestQuickstartWithoutGo runs the tour on a machine without the go command:
// one line says the vulnerable Go sample needs it, and the other samples
// are still served and scanned.
func TestQuickstartWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	data := t.TempDir() // fresh: the demo binary is cached in the data directory
	out, err := run(t, "", "quickstart", "--exit", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "error")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var goLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "vulnerable Go sample") {
			goLines = append(goLines, l)
		}
	}
	if len(goLines) != 1 || !strings.Contains(goLines[0], "go command") {
		t.Fatalf("want exactly one line saying the vulnerable Go sample needs the go command, got %q:\n%s", goLines, out)
	}
	if !strings.Contains(out, "5. Vulnerability data:") {
		t.Errorf("no line on the vulnerability data:\n%s", out)
	}
	_, rows := quickstartImages(t, data)
	if _, ok := rows["demo/goapp:1.0"]; ok {
		t.Errorf("demo/goapp:1.0 listed though it could not be built")
	}
	for _, ref := range []string{"demo/web:1.1", "demo/insecure:1.0", "tools/multiarch:2.0"} {
		if !strings.Contains(out, ref) {
			t.Errorf("output lacks sample %s", ref)
		}
		img, ok := rows[ref]
		if !ok {
			t.Errorf("no %s row", ref)
			continue
		}
		if img.ScanStatus != inventory.ScanSuccess {
			t.Errorf("%s: scan %s %s", ref, img.ScanStatus, img.ScanFailedDesc)
		}
	}
	if img := rows["demo/insecure:1.0"]; img.MaliciousFileNum == 0 {
		t.Errorf("demo/insecure:1.0: the EICAR file was not found without the go command")
	}
}
