package scanner_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
)

// recorder is an analyzer of one part (or of none, when part is 0: not
// scanner.Scoped) that records whether it ran and which files it saw kept.
type recorder struct {
	name string
	ran  bool
}

func (r *recorder) Name() string                       { return r.name }
func (r *recorder) Wants(p string, _ fs.FileInfo) bool { return p == "etc/"+r.name }
func (r *recorder) Analyze(_ context.Context, img *scanner.Image, _ *scanner.Report) error {
	r.ran = true
	_, err := fs.Stat(img.FS, "etc/"+r.name)
	return err
}

type scopedRecorder struct {
	recorder
	part scanresult.Scope
}

func (r *scopedRecorder) Scope() scanresult.Scope { return r.part }

// TestScanScope: ScanScope runs the software inventory only with
// vulnerabilities, the Scoped analyzers only of the parts it selects, and
// an analyzer that is not Scoped in every scan.
func TestScanScope(t *testing.T) {
	status, n := debianStatus(t)
	img := imageOf(t, layerOf(t,
		reg("etc/os-release", bookwormOSRelease),
		reg("var/lib/dpkg/status", status),
		reg("etc/baseline", "b"), reg("etc/malware", "m"), reg("etc/always", "a"),
	))
	for _, tc := range []struct {
		name                     string
		scope                    scanresult.Scope
		packages                 bool
		baseline, malware, other bool
	}{
		{"all", scanresult.ScopeAll, true, true, true, true},
		{"vulnerabilities", 983040, true, false, false, true},
		{"baseline", scanresult.ScopeBaseline, false, true, false, true},
		{"baseline and malware by one bit each", 0x00001100, false, true, true, true},
		{"compliance", scanresult.ScopeCompliance, false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &scopedRecorder{recorder{name: "baseline"}, scanresult.ScopeBaseline}
			m := &scopedRecorder{recorder{name: "malware"}, scanresult.ScopeMalware}
			always := &recorder{name: "always"}
			s := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir(), Analyzers: []scanner.Analyzer{b, m, always}})
			rep, err := s.ScanScope(context.Background(), img, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rep.Packages) == n && rep.OSID == "debian"; got != tc.packages {
				t.Errorf("%d packages, OS %q; want the inventory: %v", len(rep.Packages), rep.OSID, tc.packages)
			}
			if !tc.packages && (len(rep.Packages) != 0 || rep.OSID != "") {
				t.Errorf("%d packages, OS %q without vulnerabilities; want none", len(rep.Packages), rep.OSID)
			}
			if len(rep.Layers) != 1 || rep.Digest == "" {
				t.Errorf("layers %v, digest %q; want the manifest's whatever the scope", rep.Layers, rep.Digest)
			}
			if b.ran != tc.baseline || m.ran != tc.malware || always.ran != tc.other {
				t.Errorf("ran: baseline %v, malware %v, unscoped %v; want %v %v %v", b.ran, m.ran, always.ran,
					tc.baseline, tc.malware, tc.other)
			}
		})
	}
}
