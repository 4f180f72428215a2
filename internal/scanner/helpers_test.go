package scanner_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanner"
)

// file is one tar entry of a test layer.
type file struct {
	name, body string
	typ        byte // tar.TypeReg when zero
	link       string
	mode       int64
	size       int64 // for a TypeReg of zeros without body
}

func reg(name, body string) file         { return file{name: name, body: body} }
func symlink(name, target string) file   { return file{name: name, typ: tar.TypeSymlink, link: target} }
func exe(name, body string) file         { return file{name: name, body: body, mode: 0o755} }
func zeros(name string, size int64) file { return file{name: name, size: size} }
func hardlink(name, target string) file  { return file{name: name, typ: tar.TypeLink, link: target} }
func dir(name string) file               { return file{name: name, typ: tar.TypeDir, mode: 0o755} }
func special(name string, typ byte) file { return file{name: name, typ: typ, mode: 0o644} }
func whiteout(dirname, victim string) file {
	return reg(strings.TrimPrefix(dirname+"/.wh."+victim, "/"), "")
}
func opaque(dirname string) file               { return reg(dirname+"/.wh..wh..opq", "") }
func realFile(name, hostPath string) file      { b, _ := os.ReadFile(hostPath); return exe(name, string(b)) }
func sized(name, body string, mode int64) file { return file{name: name, body: body, mode: mode} }

func tarOf(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.link, Mode: f.mode, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
			if f.size > 0 {
				h.Size = f.size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			var r io.Reader = strings.NewReader(f.body)
			if f.size > 0 {
				r = io.LimitReader(zeroReader{}, f.size)
			}
			if _, err := io.Copy(tw, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func layerOf(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	raw := tarOf(t, files)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	compressed := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// sandbox is where a hostile scan may write: its scratch directory. It
// also holds a canary outside the scratch directory, a host file in dpkg
// status format (so that reading it would show up as a package), and an
// empty TMPDIR that must stay empty.
type sandbox struct {
	parent, scratch, canary, tmp string
	canaryBody                   string
}

const hostPackage = "host-canary-package"

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	parent := t.TempDir()
	sb := &sandbox{
		parent:     parent,
		scratch:    filepath.Join(parent, "scratch"),
		canary:     filepath.Join(parent, "canary"),
		tmp:        filepath.Join(parent, "tmp"),
		canaryBody: "Package: " + hostPackage + "\nStatus: install ok installed\nVersion: 1.0\n\n",
	}
	for _, d := range []string{sb.scratch, sb.tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(sb.canary, []byte(sb.canaryBody), 0o644); err != nil {
		t.Fatal(err)
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
	for _, d := range []struct {
		dir  string
		want []string
	}{{sb.parent, []string{"canary", "scratch", "tmp"}}, {sb.scratch, nil}, {sb.tmp, nil}} {
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

func (sb *sandbox) scanner(o scanner.Options) *scanner.Scanner {
	o.ScratchDir = sb.scratch
	return scanner.New(o)
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

func names(pkgs []scanner.Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"@"+p.Version)
	}
	slices.Sort(out)
	return out
}

func find(pkgs []scanner.Package, name string) (scanner.Package, bool) {
	for _, p := range pkgs {
		if p.Name == name {
			return p, true
		}
	}
	return scanner.Package{}, false
}

// debianStatus renders a dpkg status file from the real bookworm package
// set in shared/vulndata.
func debianStatus(t testing.TB) (string, int) {
	t.Helper()
	f, err := os.Open("../../../shared/vulndata/debian-12-package-set.tsv")
	if err != nil {
		t.Skipf("shared vulndata not available: %v", err)
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

// rawLayer is a gzip layer holding raw (not necessarily tar) bytes.
func rawLayer(t testing.TB, raw []byte) v1.Layer {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}
