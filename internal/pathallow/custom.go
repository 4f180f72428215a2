package pathallow

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a project's own whitelist (docs/api.md, Sensitive path
// whitelist). The SDK documents up to 20,000 entries per list; the count
// here is lower because every entry is matched against every sensitive
// finding the project reads.
const (
	MaxCustomEntries = 1000
	MaxCustomPathLen = 1024
)

// FieldError names the entry of a refused list ("customized_path[3]") and
// why, so that the API answers it as an invalid parameter and the console
// shows the same words.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return "invalid parameter " + e.Field + ": " + e.Reason }

// CheckCustom validates a project's customized_path list, as both the API's
// POST /image/sensitive/filepath-whitelist and the console's Settings page
// store it, and returns it without repeated entries (first occurrence
// kept). An entry is an absolute, clean path ("/etc/ssl/private": that file
// or everything under it) or a path.Match glob of one ("/opt/*/keys",
// "/srv/*.pem"). Unlike New, it normalises nothing: what is stored is what
// was given.
func CheckCustom(list []string) ([]string, *FieldError) {
	if len(list) > MaxCustomEntries {
		return nil, &FieldError{"customized_path", fmt.Sprintf("has %d entries; at most %d are allowed", len(list), MaxCustomEntries)}
	}
	out := make([]string, 0, len(list))
	for i, p := range list {
		bad := func(format string, args ...any) *FieldError {
			return &FieldError{fmt.Sprintf("customized_path[%d]", i), fmt.Sprintf(format, args...)}
		}
		switch {
		case p == "":
			return nil, bad("is empty")
		case len(p) > MaxCustomPathLen:
			return nil, bad("is longer than %d bytes", MaxCustomPathLen)
		case !utf8.ValidString(p):
			return nil, bad("is not valid UTF-8")
		case strings.ContainsFunc(p, unicode.IsControl):
			return nil, bad("contains a control character")
		case !strings.HasPrefix(p, "/"):
			return nil, bad("must be an absolute path (starting with /)")
		case path.Clean(p) != p:
			return nil, bad("must be a clean path (no trailing /, //, . or .. elements): %q", path.Clean(p))
		case strings.Trim(p, "/*") == "":
			return nil, bad("covers the whole image")
		}
		if _, err := New([]string{p}); err != nil {
			return nil, bad("is not a valid glob (path.Match syntax)")
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}
