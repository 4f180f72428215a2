package scanner

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// scratchPrefix names the scan directories in the scratch root.
const scratchPrefix = "openhss-scan-"

// scratchDir is one scan's directory, owned for the scan's life through a
// lock on the directory itself (flock on Unix): a process that dies, even
// by kill -9, drops the lock with its file descriptors, and the next
// RemoveStaleScratch removes what it left.
type scratchDir struct {
	path string
	lock *os.File
}

// newScratchDir creates and locks a scan directory under root. Between
// the mkdir and the lock another process's RemoveStaleScratch may take
// the directory for stale and remove it: the lock is then on a removed
// directory, which is noticed and the creation tried again.
func newScratchDir(root string) (*scratchDir, error) {
	for range 3 {
		p, err := os.MkdirTemp(root, scratchPrefix)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if err := lockDir(f, true); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if sameDir(f, p) {
			return &scratchDir{path: p, lock: f}, nil
		}
		_ = f.Close()
	}
	return nil, errors.New("scratch directory removed as it was created, three times")
}

func sameDir(f *os.File, p string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(p)
	return err == nil && os.SameFile(a, b)
}

// remove deletes the directory, then drops the lock.
func (d *scratchDir) remove() error {
	err := os.RemoveAll(d.path)
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// RemoveStaleScratch removes the scan directories (openhss-scan-*) under
// root that no live process owns: those whose lock it can take, which
// includes directories of versions that did not lock them. Directories of
// running scans, in this process or another, are kept; so is anything
// not a directory of this user. It returns the paths removed.
func RemoveStaleScratch(root string, log *slog.Logger) ([]string, error) {
	if root == "" {
		root = os.TempDir()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("scratch root: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), scratchPrefix) {
			continue // e.IsDir is false for a symlink: never followed
		}
		p := filepath.Join(root, e.Name())
		ok, err := removeIfStale(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			removed = append(removed, p)
		}
	}
	if len(removed) > 0 {
		log.Info("scanner: removed stale scratch directories", "root", root, "count", len(removed))
	}
	return removed, errors.Join(errs...)
}

func removeIfStale(p string) (bool, error) {
	f, err := openDirNoFollow(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("stale scratch %s: %w", p, err)
	}
	defer f.Close()
	if !ownedByUs(f) {
		return false, nil
	}
	if err := lockDir(f, false); err != nil {
		if errors.Is(err, errLocked) {
			return false, nil // a live scan's
		}
		return false, fmt.Errorf("stale scratch %s: %w", p, err)
	}
	if !sameDir(f, p) {
		return false, nil
	}
	// Removed while holding the lock: a scan that created the directory
	// and waits for the lock finds it gone and makes another.
	if err := os.RemoveAll(p); err != nil {
		return false, fmt.Errorf("stale scratch %s: %w", p, err)
	}
	return true, nil
}

var errLocked = errors.New("locked by another owner")
