package scanner

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanresult"
)

// Image is what analyzers see after the walk: the image's configuration and
// its final filesystem (metadata of every path, content of kept files).
type Image struct {
	Digest string
	Layers []string // layer digests, base first; Entry.Layer indexes this
	// History is parallel to Layers: sizes and the config history's
	// steps (scanresult.LayersHistory).
	History []scanresult.LayerHistory
	Config  *v1.ConfigFile
	FS      *FS
}

// LayerDigest is the digest of the layer that last wrote e.
func (im *Image) LayerDigest(e *Entry) string {
	if e.Layer < 0 || e.Layer >= len(im.Layers) {
		return ""
	}
	return im.Layers[e.Layer]
}

// FS is the image's final filesystem. It implements io/fs.FS, ReadDirFS and
// StatFS (osv-scalibr's fs.FS). Open and Stat follow symlinks inside the
// image root, never on the host; a file whose content no analyzer asked to
// keep opens as fs.ErrNotExist.
type FS struct {
	t *tree
}

// Entry returns the metadata of p without following a final symlink.
func (f *FS) Entry(p string) (Entry, bool) {
	n := f.t.lookup(p)
	if n == nil || n == f.t.root {
		return Entry{}, false
	}
	return n.Entry, true
}

// Walk calls fn for every path of the final filesystem in lexical order,
// parents first. Kept reports whether Open can read a regular file's
// content.
func (f *FS) Walk(fn func(e *Entry, kept bool) error) error {
	return f.t.walk(func(n *node) error { return fn(&n.Entry, n.blob != nil) })
}

// Open opens name, following symlinks inside the image.
func (f *FS) Open(name string) (fs.File, error) {
	n, err := f.resolve("open", name)
	if err != nil {
		return nil, err
	}
	switch {
	case n.Type == TypeDir:
		return &dirFile{fs: f, n: n}, nil
	case n.Type == TypeRegular && n.blob != nil:
		r, err := n.blob.open()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &file{ReadSeekCloser: r, n: n}, nil
	default:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
}

// Stat describes name, following symlinks inside the image.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	n, err := f.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	return entryInfo{&n.Entry}, nil
}

// ReadDir lists a directory in name order.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.Type != TypeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return dirEntries(n), nil
}

func (f *FS) resolve(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return f.t.root, nil
	}
	n, _, err := f.t.resolve(name, true, false, -1)
	if err != nil {
		if err == errNotDir {
			err = fs.ErrNotExist
		}
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

func dirEntries(n *node) []fs.DirEntry {
	names := sortedNames(n.children)
	out := make([]fs.DirEntry, 0, len(names))
	for _, name := range names {
		out = append(out, fs.FileInfoToDirEntry(entryInfo{&n.children[name].Entry}))
	}
	return out
}

func sortedNames(m map[string]*node) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// entryInfo is an Entry as an fs.FileInfo.
type entryInfo struct{ e *Entry }

func (i entryInfo) Name() string {
	if i.e.Path == "" {
		return "."
	}
	return path.Base(i.e.Path)
}
func (i entryInfo) Size() int64        { return i.e.Size }
func (i entryInfo) Mode() fs.FileMode  { return i.e.Mode }
func (i entryInfo) ModTime() time.Time { return i.e.ModTime }
func (i entryInfo) IsDir() bool        { return i.e.Type == TypeDir }
func (i entryInfo) Sys() any           { return nil }

type file struct {
	io.ReadSeekCloser
	n *node
}

func (f *file) Stat() (fs.FileInfo, error) { return entryInfo{&f.n.Entry}, nil }

// ReadAt lets debug/buildinfo and archive/zip read the file in place.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	return f.ReadSeekCloser.(io.ReaderAt).ReadAt(p, off)
}

type dirFile struct {
	fs   *FS
	n    *node
	read []fs.DirEntry
	pos  int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return entryInfo{&d.n.Entry}, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.Path, Err: fs.ErrInvalid}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(count int) ([]fs.DirEntry, error) {
	if d.read == nil {
		d.read = dirEntries(d.n)
	}
	rest := d.read[d.pos:]
	if count <= 0 {
		d.pos = len(d.read)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(count, len(rest))]
	d.pos += len(rest)
	return rest, nil
}
