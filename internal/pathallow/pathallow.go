// Package pathallow matches file paths against HSS's sensitive-information
// file path whitelist: absolute paths and path.Match globs. It is a leaf
// package (standard library only) so that both the secrets analyzer, which
// skips the server-wide default list while it walks an image, and the API,
// which hides the findings under a project's own list, match paths the same
// way without the API importing the analyzer.
package pathallow

import (
	"fmt"
	"path"
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
