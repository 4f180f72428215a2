package osvtestdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// A directory holding a go.mod of another module, under a module root
	// of ModulePath: the walk must pass it.
	nested := t.TempDir()
	writeFile(t, filepath.Join(nested, "go.mod"), "module "+ModulePath+"\n\ngo 1.26\n")
	writeFile(t, filepath.Join(nested, "testdata", "osv", "debian-12", "X.json"), "{}")
	writeFile(t, filepath.Join(nested, "sub", "go.mod"), "module "+ModulePath+"/sub\n")
	if err := os.MkdirAll(filepath.Join(nested, "sub", "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, start string
		sub         []string
		want        string // "" when an error is expected
		wantErr     string
	}{
		{name: "this package", start: ".", sub: []string{"debian-12"}, want: filepath.Join(root, "testdata", "osv", "debian-12")},
		{name: "the folder itself", start: ".", want: filepath.Join(root, "testdata", "osv")},
		{name: "a file", start: ".", sub: []string{"debian-12-package-set.tsv"}, want: filepath.Join(root, "testdata", "osv", "debian-12-package-set.tsv")},
		{name: "past another module", start: filepath.Join(nested, "sub", "pkg"), sub: []string{"debian-12"}, want: filepath.Join(nested, "testdata", "osv", "debian-12")},
		{name: "missing folder", start: ".", sub: []string{"no-such-dir"}, wantErr: "OSV test data missing"},
		{name: "outside the module", start: t.TempDir(), sub: []string{"debian-12"}, wantErr: "no go.mod of module " + ModulePath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lookup(tc.start, tc.sub...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("lookup(%q, %q) = %q, %v; want an error containing %q", tc.start, tc.sub, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("lookup(%q, %q) = %q, %v; want %q", tc.start, tc.sub, got, err, tc.want)
			}
		})
	}
}

func TestDir(t *testing.T) {
	dir := Dir(t, "debian-12")
	if !filepath.IsAbs(dir) {
		t.Fatalf("Dir = %q, not absolute", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "DEBIAN-CVE-2023-2650.json")); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
