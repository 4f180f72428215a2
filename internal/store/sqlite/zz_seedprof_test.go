package sqlite

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Temporary: profile SeedBench. Removed before hand-off.
func TestZZSeedProfile(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_SEED_ROWS"))
	if n == 0 {
		t.Skip()
	}
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	start := time.Now()
	if _, err := SeedBench(ctx, s, BenchSpec{ProjectID: "p", Rows: n, Namespaces: 20, Repos: n / 100}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d in %v", n, time.Since(start))
}
