package scanresult

import (
	"context"
	"fmt"
	"slices"

	"github.com/openhss/openhss/internal/pathallow"
)

// PathWhitelistStore keeps each project's own sensitive-information file
// path whitelist (HSS's /image/sensitive/filepath-whitelist): absolute paths
// and globs whose secret findings the project does not see. The server-wide
// default list is configuration and is not stored.
type PathWhitelistStore interface {
	// SensitivePathWhitelist returns the project's list in the order it
	// was set; empty when none was.
	SensitivePathWhitelist(ctx context.Context, projectID string) ([]string, error)
	// SetSensitivePathWhitelist replaces the project's list (empty clears
	// it) atomically.
	SetSensitivePathWhitelist(ctx context.Context, projectID string, paths []string) error
}

// PathWhitelistReader reads a project's own sensitive path whitelist.
type PathWhitelistReader interface {
	SensitivePathWhitelist(ctx context.Context, projectID string) ([]string, error)
}

// SensitiveFilter returns the matcher of the paths whose secret findings
// projectID does not see: the server default (defaults) plus the
// project's own list, read now, so that a change made through any process
// applies to the project's next read. The default was also skipped by the
// scan itself; applying it again hides findings stored before it was
// configured. The API's ListImageSensitive and the web console read
// findings through it. store may be nil: the default alone.
func SensitiveFilter(ctx context.Context, store PathWhitelistReader, defaults []string, projectID string) (pathallow.List, error) {
	paths := slices.Clone(defaults)
	if store != nil {
		custom, err := store.SensitivePathWhitelist(ctx, projectID)
		if err != nil {
			return pathallow.List{}, fmt.Errorf("sensitive path whitelist: %w", err)
		}
		paths = append(paths, custom...)
	}
	l, err := pathallow.New(paths)
	if err != nil {
		return pathallow.List{}, fmt.Errorf("sensitive path whitelist: %w", err)
	}
	return l, nil
}
