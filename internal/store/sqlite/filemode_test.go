//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// TestDatabaseFilesOwnerOnly: the database and its -wal and -shm files are
// 0600 whatever the umask, whether Open creates the file or finds one an
// older openhss left 0644.
func TestDatabaseFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: nothing is masked
	t.Cleanup(func() { syscall.Umask(old) })
	for _, tc := range []struct {
		name     string
		existing os.FileMode // 0: no file before Open
	}{
		{"new file", 0},
		{"file left 0644", 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "openhss.db")
			if tc.existing != 0 {
				if err := os.WriteFile(path, nil, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// A write creates the WAL and the shared-memory index.
			if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}
