package scanner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
)

// BenchmarkDebootstrap scans the root filesystem of `debootstrap
// --variant=minbase bookworm` (OPENHSS_TEST_DEBOOTSTRAP, built by .ci/run)
// packed as one gzip layer, in process, without and with the three
// analyzers: the difference is the analyzers' overhead without process
// start-up and rule compilation, which a server pays once.
func BenchmarkDebootstrap(b *testing.B) {
	root := os.Getenv("OPENHSS_TEST_DEBOOTSTRAP")
	if root == "" {
		b.Skip("OPENHSS_TEST_DEBOOTSTRAP is not set (.ci/run builds the tree)")
	}
	layer, _, err := dirlayer.Layer(filepath.Join(b.TempDir(), "layer.tar.gz"), root)
	if err != nil {
		b.Fatal(err)
	}
	img := imageOf(b, layer)
	bl, err := baseline.New(baseline.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sec, err := secrets.New(secrets.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		analyzers []scanner.Analyzer
	}{
		{"bare", nil},
		{"baseline", []scanner.Analyzer{bl}},
		{"malware", []scanner.Analyzer{newMalware(b, malware.Options{})}},
		{"secrets", []scanner.Analyzer{sec}},
		{"all", []scanner.Analyzer{bl, newMalware(b, malware.Options{}), sec}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir(), Analyzers: c.analyzers})
			for b.Loop() {
				rep, err := s.Scan(context.Background(), img)
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Packages) < 80 {
					b.Fatalf("%d packages", len(rep.Packages))
				}
			}
		})
	}
}
