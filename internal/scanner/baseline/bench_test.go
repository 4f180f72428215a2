package baseline_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/scannertest"
)

// BenchmarkDebianRootfs scans the debootstrapped bookworm image with and
// without the baseline analyzer, so the difference is the analyzer's cost
// (its Wants on every file, the kept files, and Analyze).
func BenchmarkDebianRootfs(b *testing.B) {
	img := imageOf(b, hardened, dirLayer(b, bookwormRootfs(b)))
	a := &timed{Analyzer: newAnalyzer(b, baseline.Options{})}
	for _, bc := range []struct {
		name      string
		analyzers []scanner.Analyzer
	}{{"inventory-only", nil}, {"with-baseline", []scanner.Analyzer{a}}} {
		b.Run(bc.name, func(b *testing.B) {
			s := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir(), Analyzers: bc.analyzers})
			a.total, a.n = 0, 0
			for b.Loop() {
				scanOnce(b, s, img, len(bc.analyzers) > 0)
			}
			if a.n > 0 {
				b.ReportMetric(float64(a.total.Microseconds())/float64(a.n)/1000, "analyze-ms/op")
			}
		})
	}
}

// timed measures the analyzer's Analyze step on its own: the rest of its
// cost is Wants and the files it keeps, inside the walk.
type timed struct {
	*baseline.Analyzer
	total time.Duration
	n     int
}

func (t *timed) Analyze(ctx context.Context, img *scanner.Image, r *scanner.Report) error {
	start := time.Now()
	defer func() { t.total += time.Since(start); t.n++ }()
	return t.Analyzer.Analyze(ctx, img, r)
}

func scanOnce(b *testing.B, s *scanner.Scanner, img v1.Image, withBaseline bool) {
	rep, err := s.Scan(context.Background(), img)
	if err != nil {
		b.Fatal(err)
	}
	if withBaseline && len(rep.Baseline) != len(baseline.Rules()) {
		b.Fatalf("%d results", len(rep.Baseline))
	}
}

// BenchmarkWeakPasswordBudget is the worst case of the weak-password rule:
// root with a Debian-default yescrypt hash of a password in no list, so
// the whole budget is spent.
func BenchmarkWeakPasswordBudget(b *testing.B) {
	img := shadowImage(b, "root:"+yescryptHash(b, randomPassword(b))+":19700::::::\n")
	s := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir(), Analyzers: []scanner.Analyzer{newAnalyzer(b, baseline.Options{})}})
	for b.Loop() {
		scanOnce(b, s, img, true)
	}
}
