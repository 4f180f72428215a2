package demo

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildVulnerableGoApp(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) (arg, abs string)
	}{
		{"absolute cache dir", func(t *testing.T) (string, string) {
			d := t.TempDir()
			return d, d
		}},
		// The go command runs in another directory: a relative cache
		// directory is the caller's, not the go command's.
		{"relative cache dir", func(t *testing.T) (string, string) {
			wd := t.TempDir()
			t.Chdir(wd)
			return filepath.Join("data", "quickstart"), filepath.Join(wd, "data", "quickstart")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, abs := tc.dir(t)
			b, err := BuildVulnerableGoApp(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			info, err := buildinfo.Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range info.Deps {
				if d.Path == "golang.org/x/text" && d.Version == "v0.3.7" {
					found = true
				}
			}
			if !found {
				t.Fatalf("binary deps = %v, want golang.org/x/text v0.3.7", info.Deps)
			}
			if cached, err := os.ReadFile(filepath.Join(abs, "vulnerable-go-app")); err != nil || !bytes.Equal(cached, b) {
				t.Fatalf("binary not cached in %s (%v)", abs, err)
			}
			// The second call is served from the cache, even without
			// the go command.
			t.Setenv("PATH", t.TempDir())
			b2, err := BuildVulnerableGoApp(context.Background(), dir)
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("cached build differs (%v)", err)
			}
		})
	}
}

func TestBuildVulnerableGoAppWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := t.TempDir()
	if _, err := BuildVulnerableGoApp(context.Background(), dir); !errors.Is(err, ErrNoGo) {
		t.Fatalf("err = %v, want ErrNoGo", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed build left %d files in the cache directory", len(entries))
	}
}
