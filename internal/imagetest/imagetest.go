// Package imagetest builds container images in memory for tests: tar
// layers from a list of entries, images from layers, their configuration.
// Every test that needs an image builds it here, so that a layer written
// from the same entries always has the same digest. Import it from tests
// (and test helper packages such as registrytest and scannertest) only.
package imagetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// modTimeUnix is every entry's modification time: fixed, so that layers
// are reproducible.
const modTimeUnix = 1700000000

// File is one tar entry of a test layer.
type File struct {
	Name, Body string
	Type       byte // tar.TypeReg when zero
	Link       string
	Mode       int64 // permission and setuid/setgid/sticky bits; 0644 when zero
	// Size, when positive, makes a regular file of Size zero bytes (Body
	// is then ignored): large files without holding them in memory.
	Size     int64
	UID, GID int
}

// Reg is a regular file (0644).
func Reg(name, body string) File { return File{Name: name, Body: body} }

// Exe is an executable regular file (0755).
func Exe(name, body string) File { return File{Name: name, Body: body, Mode: 0o755} }

// Dir is a directory (0755).
func Dir(name string) File { return File{Name: name, Type: tar.TypeDir, Mode: 0o755} }

// Symlink is a symbolic link to target.
func Symlink(name, target string) File { return File{Name: name, Type: tar.TypeSymlink, Link: target} }

// Hardlink is a hard link to the earlier entry target.
func Hardlink(name, target string) File { return File{Name: name, Type: tar.TypeLink, Link: target} }

// Whiteout deletes dir/victim from the layers below (OCI whiteout).
func Whiteout(dir, victim string) File {
	return Reg(strings.TrimPrefix(dir+"/.wh."+victim, "/"), "")
}

// Opaque hides everything the layers below have in dir.
func Opaque(dir string) File { return Reg(dir+"/.wh..wh..opq", "") }

// Files is a map of path to content as regular files, sorted by path.
func Files(m map[string]string) []File {
	var out []File
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Reg(name, m[name]))
	}
	return out
}

// Tar is the uncompressed tar stream of files, in order.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Typeflag: f.Type, Linkname: f.Link, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: time.Unix(modTimeUnix, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		var body io.Reader
		if h.Typeflag == tar.TypeReg {
			h.Size, body = int64(len(f.Body)), strings.NewReader(f.Body)
			if f.Size > 0 {
				h.Size, body = f.Size, io.LimitReader(zeros{}, f.Size)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Layer is a gzipped tar layer of files, in order.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	return GzipLayer(t, Tar(t, files...))
}

// GzipLayer is a layer whose uncompressed content is raw (a tar stream, or
// anything else for tests of broken layers).
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

// Image stacks layers, base first, on an empty linux/amd64 image.
func Image(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return WithConfigFile(t, img, func(cf *v1.ConfigFile) { cf.OS, cf.Architecture = "linux", "amd64" })
}

// WithConfigFile lets edit change a copy of img's configuration file
// (platform, created time, history, runtime configuration).
func WithConfigFile(t testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	img, err = mutate.ConfigFile(img, cf)
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
