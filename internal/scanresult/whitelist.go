package scanresult

import "context"

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
