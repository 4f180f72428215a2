package scanner_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanner"
)

// An image whose kept files (Java archives, which the software inventory
// keeps on disk) outgrow the scratch budget fails as image_oversized, and
// never writes more than the budget: the space is reserved from each
// file's declared size before its first byte.
func TestScratchBudget(t *testing.T) {
	const (
		size   = 1 << 20
		budget = 4 << 20
	)
	var files []file
	for i := range 12 { // 12 MiB kept, a few KiB compressed
		files = append(files, zeros(fmt.Sprintf("app/lib/dep%02d.jar", i), size))
	}
	img := imageOf(t, layerOf(t, files...))
	for _, tc := range []struct {
		name string
		opts scanner.Options
	}{
		{"per scan", scanner.Options{MaxScratchSize: budget}},
		{"per process", scanner.Options{ScratchLimit: budget}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			s := sb.scanner(t, tc.opts)
			_, err := scan(t, s, img)
			wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
			u := s.Scratch()
			t.Logf("scratch %+v", u)
			if u.Written > budget || u.PeakHeld > budget {
				t.Errorf("wrote %d bytes, held %d at most: over the budget of %d", u.Written, u.PeakHeld, budget)
			}
			if u.Written < budget-size {
				t.Errorf("wrote %d bytes: the budget was not used", u.Written)
			}
			if u.Held != 0 {
				t.Errorf("%d bytes still held after the scan", u.Held)
			}
			sb.check(t)
		})
	}
	t.Run("within the budget", func(t *testing.T) {
		sb := newSandbox(t)
		s := sb.scanner(t, scanner.Options{MaxScratchSize: 16 << 20, ScratchLimit: 16 << 20})
		if _, err := scan(t, s, img); err != nil {
			t.Fatal(err)
		}
		if u := s.Scratch(); u.Written != 12*size || u.Held != 0 {
			t.Errorf("scratch %+v, want 12 MiB written and nothing held", u)
		}
		sb.check(t)
	})
}

// Scratch directories left by a dead process (no one holds their lock, or
// they predate the lock) are removed before the first scan; one whose lock
// a live process holds is kept, as is anything else in the scratch root.
func TestStaleScratchRemoved(t *testing.T) {
	sb := newSandbox(t)
	mk := func(name string) string {
		p := filepath.Join(sb.scratch, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "1"), make([]byte, 64<<10), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := mk("openhss-scan-111")
	live := mk("openhss-scan-222")
	other := mk("not-a-scan")
	lock, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(sb.scratch, "openhss-scan-link")
	if err := os.Symlink(sb.host, link); err != nil {
		t.Fatal(err)
	}

	img := imageOf(t, layerOf(t, reg("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n")))
	if _, err := scan(t, sb.scanner(t, scanner.Options{}), img); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead process's %s still there (%v)", dead, err)
	}
	for _, p := range []string{live, other, link} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(live, "1")); err != nil {
		t.Errorf("live scan's file removed: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(sb.host, "status"))
	if err != nil || string(b) != hostFiles()["status"] {
		t.Errorf("host file behind the symlink changed: %q, %v", b, err)
	}
}

// A running scan's own directory survives another process's sweep: the
// sweep runs from an analyzer, between the walk and the analysis, and the
// kept file (on disk: over 256 KiB) is still readable after it.
func TestScratchOfRunningScanKept(t *testing.T) {
	sb := newSandbox(t)
	a := &sweepingAnalyzer{root: sb.scratch}
	img := imageOf(t, layerOf(t, zeros("app/big.jar", 1<<20)))
	if _, err := scan(t, sb.scanner(t, scanner.Options{Analyzers: []scanner.Analyzer{a}}), img); err != nil {
		t.Fatal(err)
	}
	if a.removed != 0 || a.read != 1<<20 {
		t.Errorf("the sweep removed %d directories; %d bytes read after it, want none and 1 MiB", a.removed, a.read)
	}
	sb.check(t)
}

type sweepingAnalyzer struct {
	root    string
	removed int
	read    int64
}

func (*sweepingAnalyzer) Name() string                       { return "sweep" }
func (*sweepingAnalyzer) Wants(p string, _ fs.FileInfo) bool { return p == "app/big.jar" }
func (a *sweepingAnalyzer) Analyze(_ context.Context, img *scanner.Image, _ *scanner.Report) error {
	removed, err := scanner.RemoveStaleScratch(a.root, nil)
	if err != nil {
		return err
	}
	a.removed = len(removed)
	f, err := img.FS.Open("app/big.jar")
	if err != nil {
		return err
	}
	defer f.Close()
	a.read, err = io.Copy(io.Discard, f)
	return err
}
