package sqlite

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
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

func BenchmarkZZHot(b *testing.B) {
	ctx := context.Background()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "openhss.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := SeedBench(ctx, s, BenchSpec{ProjectID: "p", Rows: 100000, Namespaces: 20, Repos: 1000}, rand.New(rand.NewPCG(1, 2))); err != nil {
		b.Fatal(err)
	}
	f := inventory.Filter{ProjectID: "p", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0"}, Namespace: "ns-07", Limit: 10}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ListImages(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
