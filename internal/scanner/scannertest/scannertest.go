// Package scannertest builds small images for the scanner's analyzer tests:
// tar layers from a list of entries, images from layers, one scan call, and
// the cached Debian root filesystem as a layer. Import it from tests only.
package scannertest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/scanner"
)

// File is one tar entry of a test layer.
type File struct {
	Name, Body string
	Type       byte // tar.TypeReg when zero
	Link       string
	Mode       int64 // 0644 when zero
}

func Reg(name, body string) File        { return File{Name: name, Body: body} }
func Exe(name, body string) File        { return File{Name: name, Body: body, Mode: 0o755} }
func Symlink(name, target string) File  { return File{Name: name, Type: tar.TypeSymlink, Link: target} }
func Hardlink(name, target string) File { return File{Name: name, Type: tar.TypeLink, Link: target} }
func Whiteout(dir, victim string) File  { return Reg(strings.TrimPrefix(dir+"/.wh."+victim, "/"), "") }
func Opaque(dir string) File            { return Reg(dir+"/.wh..wh..opq", "") }

// Layer is a gzipped tar layer of files, in order.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Typeflag: f.Type, Linkname: f.Link, Mode: f.Mode, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return GzipLayer(t, raw.Bytes())
}

// GzipLayer is a layer whose uncompressed content is raw.
func GzipLayer(t testing.TB, raw []byte) v1.Layer {
	t.Helper()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
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

// Image stacks layers, base first, on an empty image.
func Image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// WithConfig sets img's runtime configuration.
func WithConfig(t testing.TB, img v1.Image, c v1.Config) v1.Image {
	t.Helper()
	img, err := mutate.Config(img, c)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Digest is l's digest as "sha256:<hex>".
func Digest(t testing.TB, l v1.Layer) string {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// Scan scans img with a fresh scanner running analyzers.
func Scan(t testing.TB, img v1.Image, analyzers ...scanner.Analyzer) (*scanner.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return scanner.New(scanner.Options{ScratchDir: t.TempDir(), Analyzers: analyzers}).Scan(ctx, img)
}

// RootfsEnv names the directory of a root filesystem built by
// `debootstrap --variant=minbase bookworm DIR`, as .ci/run sets it.
const (
	RootfsEnv     = "OPENHSS_TEST_DEBOOTSTRAP"
	DefaultRootfs = "/var/cache/openhss-test/bookworm-rootfs"
)

// DebianLayer is a real Debian bookworm minbase root filesystem as one
// layer, or skips the test when none was built on this machine.
func DebianLayer(t testing.TB) v1.Layer {
	t.Helper()
	rootfs := os.Getenv(RootfsEnv)
	if rootfs == "" {
		rootfs = DefaultRootfs
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/debian_version")); err != nil {
		t.Skipf("no Debian root filesystem at %s: build one with `debootstrap --variant=minbase bookworm DIR` and set %s=DIR",
			rootfs, RootfsEnv)
	}
	l, _, err := dirlayer.Layer(filepath.Join(t.TempDir(), "debian.tar.gz"), rootfs)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// SHA512Crypt hashes pw as glibc's crypt(3) does for "$6$" (5000 rounds,
// written out; random salt), with the crypt library the baseline analyzer
// verifies hashes with.
func SHA512Crypt(t testing.TB, pw string) string {
	t.Helper()
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(5000))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Encode()
}
