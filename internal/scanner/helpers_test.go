package scanner_test

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/malware/malwaretest"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
)

// Short local names for the shared image builder (internal/imagetest).
type file = imagetest.File

var (
	reg      = imagetest.Reg
	symlink  = imagetest.Symlink
	exe      = imagetest.Exe
	hardlink = imagetest.Hardlink
	dir      = imagetest.Dir
	whiteout = imagetest.Whiteout
	opaque   = imagetest.Opaque
	layerOf  = imagetest.Layer
	imageOf  = imagetest.Image
	rawLayer = imagetest.GzipLayer // a gzip layer of raw (not necessarily tar) bytes
)

func zeros(name string, size int64) file       { return file{Name: name, Size: size} }
func special(name string, typ byte) file       { return file{Name: name, Type: typ} }
func realFile(name, hostPath string) file      { b, _ := os.ReadFile(hostPath); return exe(name, string(b)) }
func sized(name, body string, mode int64) file { return file{Name: name, Body: body, Mode: mode} }

func digestOf(t testing.TB, l v1.Layer) string { return imagetest.Digest(t, l) }

// zeroReader reads zero bytes for ever (streamed layers of huge files).
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// sandbox is where a hostile scan may write: its scratch directory. It
// also holds, outside the scratch directory, a canary (a host file in dpkg
// status format, so that reading it would show up as a package), a
// directory of host files that the analyzers would report if they read
// them (see hostFiles), and an empty TMPDIR that must stay empty.
type sandbox struct {
	parent, scratch, canary, host, tmp string
	canaryBody                         string
}

const hostPackage = "host-canary-package"

// hostFiles are written to the sandbox's host directory. Hostile images
// aim symlinks, hard links and ../ names at them; each would show in a
// report if it were read: a package, an account, a secret of a rule no
// image of the tests uses (gitlab-pat), an os-release, sshd settings, a
// file hash in the test signature set (hostSignatures).
func hostFiles() map[string]string {
	return map[string]string{
		"status":      "Package: host-status-package\nStatus: install ok installed\nVersion: 1.0\n\n",
		"passwd":      "hostuser:x:0:0:host:/root:/bin/sh\n",
		"shadow":      "hostuser::19700:0:99999:7:::\n",
		"secret.env":  "GITLAB_TOKEN=" + hostToken() + "\n",
		"os-release":  "ID=hostos\nVERSION_ID=99\n",
		"sshd_config": "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
		"eicar.com":   malware.EICAR,
	}
}

// hostToken is a GitLab token shape, derived rather than written out so
// that the source holds nothing that looks like a credential.
func hostToken() string {
	sum := sha256.Sum256([]byte("openhss host canary"))
	return "glpat-" + hex.EncodeToString(sum[:])[:20]
}

// hostSignatures names the SHA-256 of every host file but the EICAR one
// (which the built-in rule reports under its own name) as "host-file":
// a malware finding of that name is a host file read.
func hostSignatures() *malwaretest.Set {
	var sigs []scanresult.Signature
	for _, body := range hostFiles() {
		if body == malware.EICAR {
			continue
		}
		sum := sha256.Sum256([]byte(body))
		sigs = append(sigs, scanresult.Signature{SHA256: hex.EncodeToString(sum[:]), Name: "host-file"})
	}
	return malwaretest.NewSet(sigs...)
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	parent := t.TempDir()
	sb := &sandbox{
		parent:     parent,
		scratch:    filepath.Join(parent, "scratch"),
		canary:     filepath.Join(parent, "canary"),
		host:       filepath.Join(parent, "host"),
		tmp:        filepath.Join(parent, "tmp"),
		canaryBody: "Package: " + hostPackage + "\nStatus: install ok installed\nVersion: 1.0\n\n",
	}
	for _, d := range []string{sb.scratch, sb.tmp, sb.host} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(sb.canary, []byte(sb.canaryBody), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range hostFiles() {
		if err := os.WriteFile(filepath.Join(sb.host, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TMPDIR", sb.tmp)
	return sb
}

// check asserts that nothing was written outside the scratch directory
// and that the scratch directory was cleaned up.
func (sb *sandbox) check(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(sb.canary)
	if err != nil || string(b) != sb.canaryBody {
		t.Errorf("canary changed: %q, %v", b, err)
	}
	hf := hostFiles()
	for name, body := range hf {
		if b, err := os.ReadFile(filepath.Join(sb.host, name)); err != nil || string(b) != body {
			t.Errorf("host file %s changed: %q, %v", name, b, err)
		}
	}
	hostNames := slices.Sorted(maps.Keys(hf))
	for _, d := range []struct {
		dir  string
		want []string
	}{{sb.parent, []string{"canary", "host", "scratch", "tmp"}}, {sb.host, hostNames}, {sb.scratch, nil}, {sb.tmp, nil}} {
		ents, err := os.ReadDir(d.dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, d.want) {
			t.Errorf("%s holds %v, want %v", d.dir, got, d.want)
		}
	}
}

// expand puts the sandbox's paths in a hostile case's names and link
// targets: @PARENT@ is its absolute parent directory, @HOST@ its host
// directory.
func (sb *sandbox) expand(files []file) []file {
	out := slices.Clone(files)
	r := strings.NewReplacer("@PARENT@", sb.parent, "@HOST@", sb.host)
	for i := range out {
		out[i].Name, out[i].Link = r.Replace(out[i].Name), r.Replace(out[i].Link)
	}
	return out
}

func (sb *sandbox) scanner(t testing.TB, o scanner.Options) *scanner.Scanner {
	o.ScratchDir = sb.scratch
	return scannertest.New(t, o)
}

// scanKind is one scanner configuration every hostile image goes through.
type scanKind struct {
	name      string
	analyzers []scanner.Analyzer // nil: the software inventory alone
}

// scanKinds are the bare scanner and the product's: baseline, malware and
// secrets analyzers, built as cmd/openhss builds them, with the host files'
// hashes as the malware signature database.
func scanKinds(t testing.TB) []scanKind {
	t.Helper()
	b, err := baseline.New(baseline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := malware.New(malware.Options{Signatures: hostSignatures()})
	if err != nil {
		t.Fatal(err)
	}
	return []scanKind{{name: "bare"}, {name: "analyzers", analyzers: []scanner.Analyzer{b, m, sec}}}
}

// options returns o with the kind's analyzers.
func (k scanKind) options(o scanner.Options) scanner.Options {
	o.Analyzers = k.analyzers
	return o
}

// noHostLeak asserts that rep shows nothing of the host files (see
// hostLeaks), and no analyzer output from the bare scanner.
func (k scanKind) noHostLeak(t *testing.T, rep *scanner.Report) {
	t.Helper()
	for _, leak := range hostLeaks(rep) {
		t.Error(leak)
	}
	if k.analyzers == nil && (len(rep.Baseline)+len(rep.WeakPasswords)+len(rep.Malware)+len(rep.Secrets)+len(rep.FileHashes) > 0) {
		t.Errorf("the bare scanner reported analyzer findings")
	}
	if k.analyzers != nil && len(rep.Baseline) != len(baseline.Rules()) {
		t.Errorf("%d baseline results, want one per rule (%d)", len(rep.Baseline), len(baseline.Rules()))
	}
}

// hostLeaks lists what rep shows of the host files: a host package,
// account, secret, os-release or file hash.
func hostLeaks(rep *scanner.Report) []string {
	var out []string
	for _, p := range rep.Packages {
		if p.Name == hostPackage || p.Name == "host-status-package" {
			out = append(out, fmt.Sprintf("host package %+v", p))
		}
	}
	if rep.OSID == "hostos" {
		out = append(out, fmt.Sprintf("host os-release %s %s", rep.OSID, rep.OSName))
	}
	for _, w := range rep.WeakPasswords {
		if w.User == "hostuser" {
			out = append(out, fmt.Sprintf("host account %+v", w))
		}
	}
	for _, b := range rep.Baseline {
		if strings.Contains(b.Evidence, "hostuser") {
			out = append(out, fmt.Sprintf("host account in %s: %q", b.RuleID, b.Evidence))
		}
	}
	for _, s := range rep.Secrets {
		if s.RuleID == "gitlab-pat" {
			out = append(out, fmt.Sprintf("host secret %+v", s))
		}
	}
	for _, m := range rep.Malware {
		if m.Rule == "host-file" {
			out = append(out, fmt.Sprintf("host file hashed %+v", m))
		}
	}
	return out
}

// wantFailure asserts err is a *Failure with status and desc.
func wantFailure(t *testing.T, err error, status inventory.ScanStatus, desc string) {
	t.Helper()
	if err == nil {
		t.Fatalf("scan succeeded, want %s/%s", status, desc)
	}
	f, ok := err.(*scanner.Failure)
	if !ok {
		t.Fatalf("error %T %v is not a *scanner.Failure", err, err)
	}
	if f.Status != status || f.Desc != desc {
		t.Fatalf("failure %s/%s (%v), want %s/%s", f.Status, f.Desc, f.Err, status, desc)
	}
}

func names(pkgs []scanresult.Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"@"+p.Version)
	}
	slices.Sort(out)
	return out
}

func find(pkgs []scanresult.Package, name string) (scanresult.Package, bool) {
	for _, p := range pkgs {
		if p.Name == name {
			return p, true
		}
	}
	return scanresult.Package{}, false
}

// debianStatus renders a dpkg status file from the real bookworm package
// set in testdata/osv.
func debianStatus(t testing.TB) (string, int) {
	t.Helper()
	f, err := os.Open(osvtestdata.Dir(t, "debian-12-package-set.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: %s\n", c[0], c[1])
		switch {
		case c[2] != c[0] && c[3] != c[1]:
			fmt.Fprintf(&b, "Source: %s (%s)\n", c[2], c[3])
		case c[2] != c[0]:
			fmt.Fprintf(&b, "Source: %s\n", c[2])
		case c[3] != c[1]:
			fmt.Fprintf(&b, "Source: %s (%s)\n", c[2], c[3])
		}
		b.WriteString("Maintainer: Debian <debian@example.org>\nDescription: test\n\n")
		n++
	}
	return b.String(), n
}

const bookwormOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

func scan(t testing.TB, s *scanner.Scanner, img v1.Image) (*scanner.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.Scan(ctx, img)
}

// streamLayer is a gzip layer whose tar gen writes afresh each time the
// layer is read, through a pipe, so that a layer of hundreds of megabytes
// never sits in memory. gen must write the same entries every time.
func streamLayer(t testing.TB, gen func(tw *tar.Writer) error) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			zw, err := gzip.NewWriterLevel(pw, gzip.BestSpeed)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			tw := tar.NewWriter(zw)
			err = gen(tw)
			if err == nil {
				err = tw.Close()
			}
			if err == nil {
				err = zw.Close()
			}
			// A reader that stopped early makes the writes fail and ends
			// this goroutine.
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newMalware returns malware.New(o), failing t when New refuses o.
func newMalware(t testing.TB, o malware.Options) *malware.Analyzer {
	t.Helper()
	a, err := malware.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
