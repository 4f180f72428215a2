package osvtestdata

import (
	"archive/zip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Bucket serves <Ecosystem>/all.zip like the OSV bucket, each zip made of
// the records of testdata/osv/<dir> that ecosystems maps it to; any other
// path is 404. It returns the server's URL (a base URL for `db update`)
// and the number of zips served so far. The server ends with the test.
func Bucket(tb testing.TB, ecosystems map[string]string) (string, *atomic.Int32) {
	tb.Helper()
	zips := map[string]string{}
	for eco, dir := range ecosystems {
		path := filepath.Join(tb.TempDir(), "all.zip")
		WriteZip(tb, path, Dir(tb, dir))
		zips[eco] = path
	}
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eco, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
		path, found := zips[eco]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		served.Add(1)
		http.ServeFile(w, r, path)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL, &served
}

// WriteZip writes the *.json records of dirs into a zip at path, one
// <id>.json per record as OSV publishes all.zip, and returns how many it
// wrote. A dir without records fails the test.
func WriteZip(tb testing.TB, path string, dirs ...string) int {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	n := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			tb.Fatalf("osvtestdata: no records in %s (%v)", dir, err)
		}
		for _, file := range files {
			w, err := zw.Create(filepath.Base(file))
			if err != nil {
				tb.Fatal(err)
			}
			src, err := os.Open(file)
			if err != nil {
				tb.Fatal(err)
			}
			_, err = io.Copy(w, src)
			src.Close()
			if err != nil {
				tb.Fatal(err)
			}
			n++
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return n
}
