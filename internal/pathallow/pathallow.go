// Package pathallow matches file paths against HSS's sensitive-information
// file path whitelist: absolute paths and path.Match globs. It is a leaf
// package (standard library only) so that both the secrets analyzer, which
// skips the server-wide default list while it walks an image, and the API,
// which hides the findings under a project's own list, match paths the same
// way without the API importing the analyzer.
package pathallow

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
)

// List is a set of paths never reported. An entry is an absolute path
// ("/etc/ssl/private"), matching that file or everything under that
// directory, or a path.Match pattern ("/opt/*/test-keys", "/srv/*.pem")
// matching a path or one of its parent directories. The zero List matches
// nothing.
type List struct {
	prefixes []string
	globs    []string
}

// New checks and normalises patterns; a leading "/" is optional, blank
// entries are skipped. An entry covering the whole image ("/") or a
// malformed glob is an error.
func New(patterns []string) (List, error) {
	var a List
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		clean := strings.TrimPrefix(path.Clean("/"+p), "/")
		if clean == "" {
			return List{}, fmt.Errorf("allowlist entry %q covers the whole image", p)
		}
		if IsGlob(clean) {
			if _, err := path.Match(clean, ""); err != nil {
				return List{}, fmt.Errorf("allowlist entry %q: %w", p, err)
			}
			a.globs = append(a.globs, clean)
			continue
		}
		a.prefixes = append(a.prefixes, clean)
	}
	return a, nil
}

// IsGlob reports whether p holds path.Match metacharacters.
func IsGlob(p string) bool { return strings.ContainsAny(p, "*?[\\") }

// Match reports whether p (absolute or io/fs form) is in the list.
func (a List) Match(p string) bool {
	p = strings.TrimPrefix(p, "/")
	for _, pre := range a.prefixes {
		if p == pre || (strings.HasPrefix(p, pre) && p[len(pre)] == '/') {
			return true
		}
	}
	for _, g := range a.globs {
		for q := p; q != "." && q != ""; q = path.Dir(q) {
			if ok, _ := path.Match(g, q); ok {
				return true
			}
		}
	}
	return false
}

// Empty reports whether a matches nothing.
func (a List) Empty() bool { return len(a.prefixes) == 0 && len(a.globs) == 0 }

// ProjectLists reads a project's own sensitive path whitelist
// (scanresult.PathWhitelistStore's read).
type ProjectLists interface {
	SensitivePathWhitelist(ctx context.Context, projectID string) ([]string, error)
}

// ForProject returns the matcher of the paths whose secret findings
// projectID does not see: the server default (defaults) plus the
// project's own list, read now, so that a change made through any process
// applies to the project's next read. The default was also skipped by the
// scan itself; applying it again hides findings stored before it was
// configured. The API's ListImageSensitive and the web console read
// findings through it. lists may be nil: the default alone.
func ForProject(ctx context.Context, lists ProjectLists, defaults []string, projectID string) (List, error) {
	paths := slices.Clone(defaults)
	if lists != nil {
		custom, err := lists.SensitivePathWhitelist(ctx, projectID)
		if err != nil {
			return List{}, fmt.Errorf("sensitive path whitelist: %w", err)
		}
		paths = append(paths, custom...)
	}
	l, err := New(paths)
	if err != nil {
		return List{}, fmt.Errorf("sensitive path whitelist: %w", err)
	}
	return l, nil
}
