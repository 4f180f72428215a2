package scanner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
)

// BenchmarkScan scans a synthetic image: a base layer with a 700-package
// dpkg status, a few thousand ordinary files and two Go binaries, and an
// upper layer rewriting some of them.
func BenchmarkScan(b *testing.B) {
	bin, _ := buildGoBinary(b)
	var status strings.Builder
	for i := range 700 {
		fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nVersion: 1.%d-1\nSource: src%d (1.%d-1)\nArchitecture: amd64\nMaintainer: x\nDescription: package %d\n long description line\n\n", i, i, i/3, i, i)
	}
	base := []file{reg("usr/lib/os-release", bookwormOSRelease), symlink("etc/os-release", "../usr/lib/os-release"),
		reg("var/lib/dpkg/status", status.String()), realFile("usr/local/bin/a", bin), realFile("opt/app/b", bin)}
	for i := range 3000 {
		body := strings.Repeat(fmt.Sprintf("line %d\n", i), 1+i%200)
		if i%10 == 0 {
			base = append(base, exe(fmt.Sprintf("usr/bin/tool%d", i), "\x7fELF"+body))
		} else {
			base = append(base, reg(fmt.Sprintf("usr/share/doc/p%d/file%d.txt", i%300, i), body))
		}
	}
	var upper []file
	for i := range 500 {
		upper = append(upper, reg(fmt.Sprintf("usr/share/doc/p%d/file%d.txt", i%300, i), "rewritten"))
	}
	img := imageOf(b, layerOf(b, base...), layerOf(b, upper...))
	s := scannertest.New(b, scanner.Options{ScratchDir: b.TempDir()})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := s.Scan(context.Background(), img)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Packages) < 702 {
			b.Fatalf("%d packages", len(rep.Packages))
		}
	}
}
