package vulndb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/vulndb"
)

// rewrite loads a real record, applies edit to its JSON object and writes
// it to dir/name.
func rewrite(t *testing.T, src, dir, name string, edit func(map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func matchOne(t *testing.T, db *vulndb.DB, p scanresult.Package, id string) (scanresult.Finding, bool) {
	t.Helper()
	fs, err := db.Match(context.Background(), []scanresult.Package{p})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.VulnID == id {
			return f, true
		}
	}
	return scanresult.Finding{}, false
}

func TestNewerModifiedWins(t *testing.T) {
	db, _ := openDB(t)
	src := filepath.Join(osvtestdata.Dir(t, "debian-12"), "DEBIAN-CVE-2023-2650.json")
	dir := t.TempDir()
	pkg := scanresult.Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.8-1"}

	orig := mustImport(t, db, src)
	if orig.Written != 1 {
		t.Fatalf("first import = %+v", orig)
	}
	if again := mustImport(t, db, src); again.Written != 0 {
		t.Fatalf("same record again = %+v, want nothing written", again)
	}

	newer := rewrite(t, src, filepath.Join(dir, "newer"), "r.json", func(m map[string]any) {
		m["modified"] = "2024-01-01T00:00:00Z"
		m["summary"] = "newer copy"
	})
	if res := mustImport(t, db, newer); res.Written != 1 {
		t.Fatalf("newer copy = %+v, want written", res)
	}
	older := rewrite(t, src, filepath.Join(dir, "older"), "r.json", func(m map[string]any) {
		m["modified"] = "2023-01-01T00:00:00Z"
		m["summary"] = "older copy"
	})
	if res := mustImport(t, db, older); res.Written != 0 {
		t.Fatalf("older copy = %+v, want skipped", res)
	}
	if f, ok := matchOne(t, db, pkg, "DEBIAN-CVE-2023-2650"); !ok || f.Description != "newer copy" {
		t.Fatalf("after older import: %+v, %v; want the newer copy", f, ok)
	}

	// Same modified, different content: the import replaces it (and its
	// index: the record now names another package).
	moved := rewrite(t, src, filepath.Join(dir, "moved"), "r.json", func(m map[string]any) {
		m["modified"] = "2024-01-01T00:00:00Z"
		m["summary"] = "moved"
		aff := m["affected"].([]any)[0].(map[string]any)
		aff["package"].(map[string]any)["name"] = "openssl-moved"
	})
	if res := mustImport(t, db, moved); res.Written != 1 {
		t.Fatalf("changed copy = %+v, want written", res)
	}
	if _, ok := matchOne(t, db, pkg, "DEBIAN-CVE-2023-2650"); ok {
		t.Fatal("the old index entry survived a replacement")
	}
	if f, ok := matchOne(t, db, scanresult.Package{Ecosystem: "Debian:12", Name: "openssl-moved", Version: "3.0.8-1"}, "DEBIAN-CVE-2023-2650"); !ok || f.Description != "moved" {
		t.Fatalf("moved record: %+v, %v", f, ok)
	}
}

func TestWithdrawnNeverMatches(t *testing.T) {
	db, st := openDB(t)
	src := filepath.Join(osvtestdata.Dir(t, "debian-12"), "DEBIAN-CVE-2023-2650.json")
	pkg := scanresult.Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.8-1"}
	mustImport(t, db, src)
	if _, ok := matchOne(t, db, pkg, "DEBIAN-CVE-2023-2650"); !ok {
		t.Fatal("precondition: the record matches")
	}
	withdrawn := rewrite(t, src, t.TempDir(), "r.json", func(m map[string]any) {
		m["modified"] = "2024-01-01T00:00:00Z"
		m["withdrawn"] = "2024-01-01T00:00:00Z"
	})
	if res := mustImport(t, db, withdrawn); res.Written != 1 {
		t.Fatalf("withdrawn copy = %+v", res)
	}
	if f, ok := matchOne(t, db, pkg, "DEBIAN-CVE-2023-2650"); ok {
		t.Fatalf("withdrawn record matched: %+v", f)
	}
	// The older, live copy cannot bring it back.
	if res := mustImport(t, db, src); res.Written != 0 {
		t.Fatalf("older live copy = %+v, want skipped", res)
	}
	s, err := st.VulnStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 1 || s.Withdrawn != 1 || len(s.Ecosystems) != 0 {
		t.Fatalf("status = %+v", s)
	}
}

func TestImportZipAndInvalidFiles(t *testing.T) {
	db, _ := openDB(t)
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	n := osvtestdata.WriteZip(t, zipPath, osvtestdata.Dir(t, "debian-12"), osvtestdata.Dir(t, "alpine"))
	res := mustImport(t, db, zipPath)
	if res.Records != n || res.Written != n || res.Invalid != 0 {
		t.Fatalf("zip import = %+v, want %d", res, n)
	}
	if again := mustImport(t, db, zipPath); again.Written != 0 {
		t.Fatalf("zip re-import = %+v", again)
	}

	// A directory tree with non-record JSON: records found recursively,
	// the rest counted and skipped.
	dir := t.TempDir()
	nested := filepath.Join(dir, "a", "b")
	rewrite(t, filepath.Join(osvtestdata.Dir(t, "ubuntu-24.04"), "USN-6663-3.json"), nested, "USN-6663-3.json", func(map[string]any) {})
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	res = mustImport(t, db, dir)
	if res.Records != 1 || res.Written != 1 || res.Invalid != 2 {
		t.Fatalf("dir import = %+v, want 1 record and 2 invalid", res)
	}
	if _, err := db.Import(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Fatal("import of a missing path succeeded")
	}
}

// osvBucket serves <Ecosystem>/all.zip files like the OSV bucket, counting
// requests.
func osvBucket(t *testing.T, zips map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		eco, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
		path, found := zips[eco]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, path)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestImportURLAndUpdate(t *testing.T) {
	tmp := t.TempDir()
	debZip, alpZip := filepath.Join(tmp, "debian.zip"), filepath.Join(tmp, "alpine.zip")
	nDeb := osvtestdata.WriteZip(t, debZip, osvtestdata.Dir(t, "debian-12"))
	nAlp := osvtestdata.WriteZip(t, alpZip, osvtestdata.Dir(t, "alpine"))
	srv, requests := osvBucket(t, map[string]string{"Debian": debZip, "Alpine": alpZip})
	ctx := context.Background()

	t.Run("url", func(t *testing.T) {
		db, _ := openDB(t)
		res := mustImport(t, db, srv.URL+"/Debian/all.zip")
		if res.Records != nDeb || res.Written != nDeb {
			t.Fatalf("URL import = %+v, want %d", res, nDeb)
		}
		if _, err := db.Import(ctx, srv.URL+"/Nope/all.zip"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("import of a missing URL: %v", err)
		}
	})

	t.Run("update", func(t *testing.T) {
		_, st := openDB(t)
		tempDir := t.TempDir()
		db, err := vulndb.New(vulndb.Options{Store: st, TempDir: tempDir})
		if err != nil {
			t.Fatal(err)
		}
		before := requests.Load()
		results, err := db.Update(ctx, srv.URL, []string{"Debian", "Alpine", "Missing"})
		if err == nil || !strings.Contains(err.Error(), "Missing") {
			t.Fatalf("update error = %v, want the Missing ecosystem to fail", err)
		}
		if len(results) != 2 || results[0].Written != nDeb || results[1].Written != nAlp {
			t.Fatalf("update results = %+v", results)
		}
		if got := requests.Load() - before; got != 3 {
			t.Fatalf("update made %d requests, want 3", got)
		}
		if left, _ := os.ReadDir(tempDir); len(left) != 0 {
			t.Fatalf("downloads left behind: %v", left)
		}
		status, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range status.Ecosystems {
			counts[e.Ecosystem] = e.Records
		}
		if status.Records != nDeb+nAlp || counts["Debian:12"] != nDeb || counts["Alpine:v3.20"] == 0 ||
			counts["Alpine:v3.19"] == 0 || counts["Alpine:v3.21"] == 0 {
			t.Fatalf("status = %+v", status)
		}
		if status.LastImport == nil || status.LastImport.Source != srv.URL+"/Alpine/all.zip" || status.LastImport.Written != nAlp {
			t.Fatalf("last import = %+v", status.LastImport)
		}
		// A second update writes nothing.
		results, err = db.Update(ctx, srv.URL+"/", []string{"Debian", "Alpine"})
		if err != nil || results[0].Written != 0 || results[1].Written != 0 {
			t.Fatalf("second update = %+v, %v", results, err)
		}
	})
}
