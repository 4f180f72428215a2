package secrets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
)

// BenchmarkSyntheticTree scans an application-like tree: 2,000 candidate
// text files (configs, scripts, sources, 2–8 KiB) of which 20 hold a
// token, next to 3,000 files the candidate filter skips (libraries,
// documentation, node_modules). It reports the scan with and without the
// analyzer.
func BenchmarkSyntheticTree(b *testing.B) {
	ts := newSecrets(b)
	var files []file
	for i := range 2000 {
		var body strings.Builder
		for j := range 40 + i%120 {
			fmt.Fprintf(&body, "setting_%d_%d = value-%d # comment about the option\n", i, j, j*i)
		}
		if i%100 == 0 {
			fmt.Fprintf(&body, "GITHUB_TOKEN=%s\n", ts.ghpT)
		}
		ext := []string{".conf", ".yaml", ".sh", ".py", ".ini"}[i%5]
		files = append(files, reg(fmt.Sprintf("opt/app/conf%d/file%d%s", i%40, i, ext), body.String()))
	}
	for i := range 3000 {
		dir := []string{"usr/lib/x86_64-linux-gnu", "usr/share/doc/pkg", "srv/app/node_modules/m"}[i%3]
		files = append(files, reg(fmt.Sprintf("%s/f%d.txt", dir, i), strings.Repeat("text line\n", 200)))
	}
	img := imageOf(b, layerOf(b, files...))
	a, err := secrets.New(secrets.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name      string
		analyzers []scanner.Analyzer
		want      int
	}{
		{"without", nil, 0},
		{"with-secrets", []scanner.Analyzer{a}, 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir(), Analyzers: bc.analyzers}).Scan(context.Background(), img)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Secrets) != bc.want {
					b.Fatalf("%d findings, want %d", len(r.Secrets), bc.want)
				}
			}
		})
	}
}

// BenchmarkDebianScan scans the debootstrap image with and without the
// analyzer.
func BenchmarkDebianScan(b *testing.B) {
	img := imageOf(b, debianLayer(b))
	a, err := secrets.New(secrets.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name      string
		analyzers []scanner.Analyzer
	}{
		{"inventory-only", nil},
		{"with-secrets", []scanner.Analyzer{a}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir(), Analyzers: bc.analyzers}).Scan(context.Background(), img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew is the cost of compiling gitleaks' default rules.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := secrets.New(secrets.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
