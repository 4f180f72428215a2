package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/vulndb"
)

// TestDBImportKeepsAbsoluteSource imports a directory given relative to the
// working directory: db status, run from elsewhere, names the directory
// the records came from.
func TestDBImportKeepsAbsoluteSource(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	t.Setenv("OPENHSS_DB", "")
	rec := `{"id":"GO-2099-0001","modified":"2099-01-02T03:04:05Z","summary":"test record",` +
		`"affected":[{"package":{"ecosystem":"Go","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`
	if err := os.MkdirAll(filepath.Join(wd, "osv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wd, "osv", "GO-2099-0001.json"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", "db", "import", "osv", "--data", "data", "--log-level", "error"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Chdir(t.TempDir())
	out, err := run(t, "", "db", "status", "--json", "--data", filepath.Join(wd, "data"), "--log-level", "error")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var st vulndb.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if st.Records != 1 || st.LastImport == nil || st.LastImport.Source != filepath.Join(wd, "osv") {
		t.Fatalf("status = %+v, want 1 record imported from %s", st, filepath.Join(wd, "osv"))
	}
}
