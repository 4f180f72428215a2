// Package dirlayer packs a directory tree — a root filesystem built by
// debootstrap, say — into an image layer the way a container build would:
// modes, owners, symlinks and hard links kept, device files and other
// special files left out (a runtime creates those; registries and
// unprivileged extractors reject them).
//
// It serves tests and benchmarks that need real operating system content
// in an image; the scanner never uses it.
package dirlayer

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Stats counts what Write put into the stream and what it left out.
type Stats struct {
	Dirs, Files, Symlinks, Hardlinks int
	Skipped                          int   // devices, FIFOs, sockets
	Bytes                            int64 // regular file content
}

// Write writes the tree under dir to w as an uncompressed tar stream, in
// lexical order, with paths relative to dir ("etc/passwd", "usr/"). The
// root itself is not an entry. Times are kept to the second (no PAX
// records for sub-second times, as docker writes them).
func Write(w io.Writer, dir string) (Stats, error) {
	var st Stats
	tw := tar.NewWriter(w)
	// A second path to an inode already written becomes a hard link entry,
	// as in `tar c`: the content is stored once.
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime().Truncate(1e9), Format: tar.FormatGNU}
		if m := fi.Mode(); m&os.ModeSetuid != 0 {
			hdr.Mode |= 0o4000
		}
		if m := fi.Mode(); m&os.ModeSetgid != 0 {
			hdr.Mode |= 0o2000
		}
		if m := fi.Mode(); m&os.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		sys, _ := fi.Sys().(*syscall.Stat_t)
		if sys != nil {
			hdr.Uid, hdr.Gid = int(sys.Uid), int(sys.Gid)
		}
		switch m := fi.Mode(); {
		case m.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			st.Dirs++
		case m&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			st.Symlinks++
		case m.IsRegular():
			if sys != nil && sys.Nlink > 1 {
				key := inode{uint64(sys.Dev), sys.Ino}
				if first, ok := seen[key]; ok {
					hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
					st.Hardlinks++
					return tw.WriteHeader(hdr)
				}
				seen[key] = name
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if err := copyFile(tw, path, fi.Size()); err != nil {
				return err
			}
			st.Files++
			st.Bytes += fi.Size()
			return nil
		default:
			st.Skipped++
			return nil
		}
		return tw.WriteHeader(hdr)
	})
	if err != nil {
		return st, fmt.Errorf("dirlayer: %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("dirlayer: %s: %w", dir, err)
	}
	return st, nil
}

// copyFile copies exactly size bytes of path: a file that changed size
// while being packed would corrupt the stream.
func copyFile(w io.Writer, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: read %d bytes, expected %d (file changed while packing)", path, n, size)
	}
	return nil
}

// WriteFile packs dir into a gzip-compressed tar file at path (default
// compression, as image builders use).
func WriteFile(path, dir string) (Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, fmt.Errorf("dirlayer: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := gzip.NewWriter(bw)
	st, err := Write(zw, dir)
	err = errors.Join(err, zw.Close(), bw.Flush(), f.Close())
	if err != nil {
		os.Remove(path)
		return st, err
	}
	return st, nil
}

// Layer packs dir into a compressed layer file at path and returns the
// layer backed by that file.
func Layer(path, dir string) (v1.Layer, Stats, error) {
	st, err := WriteFile(path, dir)
	if err != nil {
		return nil, st, err
	}
	l, err := tarball.LayerFromFile(path)
	if err != nil {
		return nil, st, fmt.Errorf("dirlayer: %w", err)
	}
	return l, st, nil
}
