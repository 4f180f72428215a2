package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlite"
	_ "modernc.org/sqlite" // the driver VACUUM INTO runs on
)

// BenchmarkListFirstCall measures, on SQLite, a filter set's first list
// call on a store just opened: empty list and statement caches and a cold
// page cache on every pooled connection, which is what the first call of
// `openhss-bench list` measures once. Each iteration opens the store anew
// over the same file (untimed), makes the type-only call first (untimed,
// as the bench tool's first filter set does), then times the filter set's
// call. The namespace and image-name sets resolve their substrings by
// reading image_repos (see resolveRepos), so their first call is mostly
// page reads, and how the pages lie in the file matters: "seeded" is the
// file as benchseed (triggers, row by row, like syncs) left it, "compacted"
// a VACUUM INTO copy of it. docs/benchmarks.md (Store refactor) has figures.
func BenchmarkListFirstCall(b *testing.B) {
	ctx := context.Background()
	rows := benchRows()
	seeded := filepath.Join(b.TempDir(), "seeded.db")
	s, err := sqlite.Open(ctx, seeded)
	if err != nil {
		b.Fatal(err)
	}
	seedBench(b, s.Store, rows, seeded)
	s.Close()
	compacted := filepath.Join(b.TempDir(), "compacted.db")
	db, err := sql.Open("sqlite", seeded)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, compacted); err != nil {
		b.Fatal(err)
	}
	db.Close()

	warm := inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 10}
	for _, file := range []struct{ name, path string }{{"seeded", seeded}, {"compacted", compacted}} {
		for _, tc := range benchFilters() {
			if tc.name == "type" {
				continue // the untimed call before each timed one
			}
			b.Run(file.name+"/"+tc.name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					s, err := sqlite.Open(ctx, file.path)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := s.ListImages(ctx, warm); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					_, err = s.ListImages(ctx, tc.filter)
					b.StopTimer()
					s.Close()
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}
