// Package osvtestdata finds the repository's OSV test records (testdata/osv at
// the module root) from a test in any package of the module, so no test does
// `../..` path arithmetic that breaks when a package moves.
package osvtestdata

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/modfile"
)

// ModulePath is the module whose root holds testdata/osv.
const ModulePath = "github.com/openhss/openhss"

// Dir is the absolute path of testdata/osv/<sub...> in the module root above
// the test's working directory (go test runs a test in its package
// directory). A missing folder fails the test: the data is part of the
// repository, so its absence is a broken checkout, not a reason to skip.
func Dir(tb testing.TB, sub ...string) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("osvtestdata: %v", err)
	}
	dir, err := lookup(wd, sub...)
	if err != nil {
		tb.Fatalf("osvtestdata: %v", err)
	}
	return dir
}

// lookup walks up from start to the go.mod of ModulePath (passing other
// modules' go.mod files, such as test/sdkcompat's) and returns its
// testdata/osv/<sub...>, which must exist.
func lookup(start string, sub ...string) (string, error) {
	start, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("%s: %w", start, err)
	}
	root := start
	for {
		mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("reading go.mod: %w", err)
		}
		if err == nil && modfile.ModulePath(mod) == ModulePath {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod of module %s above %s", ModulePath, start)
		}
		root = parent
	}
	dir := filepath.Join(append([]string{root, "testdata", "osv"}, sub...)...)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("OSV test data missing from the repository: %w", err)
	}
	return dir, nil
}
