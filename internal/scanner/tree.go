package scanner

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"time"
)

// EntryType is the kind of a path in the image's filesystem.
type EntryType uint8

const (
	TypeRegular EntryType = iota + 1
	TypeDir
	TypeSymlink
	// TypeOther is a device, a FIFO or anything else that only has metadata.
	// The walk records it and never creates it.
	TypeOther
)

// Entry is one path of the image's final filesystem, as the walk saw its
// tar header. Every path is kept here, whether or not its content was kept.
type Entry struct {
	// Path is slash-separated and relative to the image root, with no
	// leading slash ("etc/os-release"), as io/fs names files. Symlinks in
	// the directories above it were resolved inside the image root.
	Path     string
	Type     EntryType
	Mode     fs.FileMode // as the image declares it: type, permission, setuid/setgid/sticky bits
	Size     int64
	UID, GID int
	// Linkname is a symlink's target as written in the image, or for a hard
	// link the path of the file it links to (then Type is TypeRegular).
	Linkname string
	ModTime  time.Time
	// Layer is the index, in Image.Layers, of the layer that last wrote Path.
	Layer int
}

// Name is the last element of Path.
func (e *Entry) Name() string { return path.Base(e.Path) }

// maxSymlinkHops bounds symlink resolution: a loop ends as an error, never a hang.
const maxSymlinkHops = 40

var (
	errSymlinkLoop = errors.New("too many levels of symbolic links")
	errNotDir      = errors.New("not a directory")
)

type node struct {
	Entry
	children map[string]*node // directories only
	// touched is the newest layer that wrote this node or anything below
	// it: whiteouts and opaque directories hide only what lower layers wrote.
	touched int
	blob    *blob // the kept content of a regular file, nil when not kept
}

// tree is the merged filesystem of the layers walked so far: metadata for
// every path, content only for kept files. It never touches the host
// filesystem; kept content lives in a blobStore under names the scan picks.
type tree struct {
	root  *node
	blobs *blobStore
}

func newTree(blobs *blobStore) *tree {
	return &tree{root: &node{Entry: Entry{Type: TypeDir, Mode: fs.ModeDir | 0o755}, children: map[string]*node{}, touched: -1}, blobs: blobs}
}

// resolve walks p from the root, following symlinks inside the image root
// (an absolute target restarts at the image root, ".." stops there). The
// last component is followed only when followLast. With create (and layer
// >= 0), missing or non-directory intermediate components become
// directories, and every node on the way is marked as touched by layer.
// It returns the node and its physical path.
func (t *tree) resolve(p string, followLast, create bool, layer int) (*node, string, error) {
	comps := splitPath(p)
	stack := []*node{t.root}
	names := make([]string, 0, len(comps))
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack, names = stack[:len(stack)-1], names[:len(names)-1]
			}
			continue
		}
		parent := stack[len(stack)-1]
		if parent.Type != TypeDir {
			return nil, "", errNotDir
		}
		child := parent.children[c]
		last := len(comps) == 0
		if child != nil && child.Type == TypeSymlink && (!last || followLast) {
			hops++
			if hops > maxSymlinkHops {
				return nil, "", errSymlinkLoop
			}
			target := child.Linkname
			if strings.HasPrefix(target, "/") {
				stack, names = stack[:1], names[:0]
			}
			comps = append(splitPath(target), comps...)
			continue
		}
		if child == nil || (create && !last && child.Type != TypeDir) {
			if !create {
				return nil, "", fs.ErrNotExist
			}
			if child != nil {
				t.release(child)
			}
			child = &node{
				Entry:    Entry{Path: path.Join(append(names, c)...), Type: TypeDir, Mode: fs.ModeDir | 0o755, Layer: layer},
				children: map[string]*node{},
				touched:  layer,
			}
			parent.children[c] = child
		}
		stack = append(stack, child)
		names = append(names, c)
	}
	if create {
		for _, n := range stack {
			n.touched = max(n.touched, layer)
		}
	}
	return stack[len(stack)-1], path.Join(names...), nil
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// put records e (whose Path is the cleaned path from the tar header) as
// written by layer, replacing whatever lower layers had there; a directory
// over a directory keeps the lower one's children, as overlayfs does.
func (t *tree) put(layer int, e Entry) (*node, error) {
	dir, name := path.Split(e.Path)
	parent, physical, err := t.resolve(strings.TrimSuffix(dir, "/"), true, true, layer)
	if err != nil {
		return nil, err
	}
	if parent.Type != TypeDir {
		return nil, errNotDir
	}
	e.Path = path.Join(physical, name)
	e.Layer = layer
	old := parent.children[name]
	if e.Type == TypeDir && old != nil && old.Type == TypeDir {
		old.Entry = e
		old.touched = layer
		return old, nil
	}
	if old != nil {
		t.release(old)
	}
	n := &node{Entry: e, touched: layer}
	if e.Type == TypeDir {
		n.children = map[string]*node{}
	}
	parent.children[name] = n
	return n, nil
}

// lookup finds p without following a symlink in its last component.
func (t *tree) lookup(p string) *node {
	n, _, err := t.resolve(p, false, false, -1)
	if err != nil {
		return nil
	}
	return n
}

// whiteout applies layer's ".wh.<name>" in dir: whatever lower layers
// wrote at dir/name is gone.
func (t *tree) whiteout(layer int, dir, name string) {
	parent, _, err := t.resolve(dir, true, false, -1)
	if err != nil || parent.Type != TypeDir {
		return
	}
	if c := parent.children[name]; c != nil && t.prune(c, layer) {
		delete(parent.children, name)
		t.release(c)
	}
}

// opaque applies layer's ".wh..wh..opq" in dir: dir keeps only what layer
// itself put there.
func (t *tree) opaque(layer int, dir string) {
	d, _, err := t.resolve(dir, true, false, -1)
	if err != nil || d.Type != TypeDir {
		return
	}
	for name, c := range d.children {
		if t.prune(c, layer) {
			delete(d.children, name)
			t.release(c)
		}
	}
}

// prune removes from n what layers below layer wrote, and reports whether
// n itself goes (nothing of layer is at or under it).
func (t *tree) prune(n *node, layer int) bool {
	if n.touched < layer {
		return true
	}
	for name, c := range n.children {
		if t.prune(c, layer) {
			delete(n.children, name)
			t.release(c)
		}
	}
	return false
}

// release drops the kept content of n and everything under it.
func (t *tree) release(n *node) {
	if n.blob != nil {
		t.blobs.release(n.blob)
		n.blob = nil
	}
	for _, c := range n.children {
		t.release(c)
	}
}

// walk calls fn for every node in lexical path order, parents first.
func (t *tree) walk(fn func(n *node) error) error {
	return walkNode(t.root, fn, true)
}

func walkNode(n *node, fn func(n *node) error, isRoot bool) error {
	if !isRoot {
		if err := fn(n); err != nil {
			return err
		}
	}
	if len(n.children) == 0 {
		return nil
	}
	for _, name := range sortedNames(n.children) {
		if err := walkNode(n.children[name], fn, false); err != nil {
			return err
		}
	}
	return nil
}
