// Package listbench holds the image list benchmarks both stores run over a
// storebench inventory: the filter sets the latency targets are stated for,
// the seeding of a reusable bench store, and the measuring loops. It imports
// testing, so it is apart from storebench, which the bench command links.
package listbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/storebench"
)

// Project is the project the bench rows belong to.
const Project = "bench-project"

// Lister is the part of a store the benchmarks measure.
type Lister interface {
	ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error)
}

// NamedFilter is one filter set the list is measured with.
type NamedFilter struct {
	Name   string
	Filter inventory.Filter
}

// Filters are the filter sets the list latency targets are stated for.
func Filters() []NamedFilter {
	yes := true
	base := inventory.Filter{ProjectID: Project, Type: inventory.PrivateImage, Limit: 10}
	with := func(mod func(*inventory.Filter)) inventory.Filter {
		f := base
		mod(&f)
		return f
	}
	return []NamedFilter{
		{"type", base},
		{"namespace", with(func(f *inventory.Filter) { f.Namespace = "ns-07" })},
		{"image_name", with(func(f *inventory.Filter) { f.ImageName = "app-0042" })},
		{"has_vul", with(func(f *inventory.Filter) { f.HasVul = &yes })},
		{"scan_status", with(func(f *inventory.Filter) { f.ScanStatus = inventory.ScanFailed })},
		{"latest_version", with(func(f *inventory.Filter) { f.LatestVersionOnly = true })},
		// Beyond the targets: substrings matching many repositories.
		{"image_name_wide", with(func(f *inventory.Filter) { f.ImageName = "app-00" })},
		{"namespace_wide", with(func(f *inventory.Filter) { f.Namespace = "ns-1" })},
	}
}

// Rows is the bench size: OPENHSS_BENCH_ROWS, default 100,000.
func Rows() int {
	if n, err := strconv.Atoi(os.Getenv("OPENHSS_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// Seed fills an opened bench store with rows rows through seed, unless it
// already holds exactly that many (a store kept across runs); where is what
// to remove when it holds another number. The seed is logged so that a run
// can be repeated.
func Seed(tb testing.TB, l Lister, rows int, where string,
	seed func(ctx context.Context, spec storebench.Spec, rnd *rand.Rand) error) {
	tb.Helper()
	ctx := context.Background()
	p, err := l.ListImages(ctx, inventory.Filter{ProjectID: Project, Type: inventory.PrivateImage, Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if p.Total == int64(rows) {
		return
	}
	if p.Total != 0 {
		tb.Fatalf("%s holds %d bench rows, want %d: remove it", where, p.Total, rows)
	}
	s := uint64(time.Now().UnixNano())
	tb.Logf("seeding %d rows, seed %d", rows, s)
	start := time.Now()
	spec := storebench.Spec{ProjectID: Project, Rows: rows, Namespaces: 20, Repos: max(20, rows/100)}
	if err := seed(ctx, spec, rand.New(rand.NewPCG(s, s))); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d rows in %v", rows, time.Since(start))
}

// Benchmark measures the list over l, a store of rows rows, for each filter
// set at offset 0 and at offset rows/10.
func Benchmark(b *testing.B, l Lister, rows int) {
	ctx := context.Background()
	for _, offset := range []int{0, rows / 10} {
		for _, tc := range Filters() {
			b.Run(fmt.Sprintf("%s/offset=%d", tc.Name, offset), func(b *testing.B) {
				f := tc.Filter
				f.Offset = offset
				for b.Loop() {
					if _, err := l.ListImages(ctx, f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Latency reports median and p99 latency of the filter sets over the store
// open returns for Rows() rows, including the first (uncached count) call.
// It only runs when OPENHSS_BENCH_ROWS is set: a default-sized store takes
// too long to seed for every test run.
func Latency(t *testing.T, open func(tb testing.TB, rows int) Lister) {
	if os.Getenv("OPENHSS_BENCH_ROWS") == "" {
		t.Skip("set OPENHSS_BENCH_ROWS to measure list latency")
	}
	l := open(t, Rows())
	ctx := context.Background()
	const runs = 200
	for _, offset := range []int{0, 100_000} {
		for _, tc := range Filters() {
			f := tc.Filter
			f.Offset = offset
			var ds []time.Duration
			var total int64
			for range runs {
				start := time.Now()
				p, err := l.ListImages(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				ds = append(ds, time.Since(start))
				total = p.Total
			}
			first := ds[0]
			slices.Sort(ds)
			t.Logf("%-15s offset=%-7d total=%-8d first=%-12v median=%-12v p99=%v",
				tc.Name, offset, total, first, ds[len(ds)/2], ds[len(ds)*99/100])
		}
	}
}
