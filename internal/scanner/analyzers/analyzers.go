// Package analyzers registers the scanner's analyzers beyond the software
// inventory: the one list every binary scans with (openhss serve and scan,
// the benchmarks' scan child). A new analyzer is one more entry in New,
// and names the part of a scan's scope it is (scanner.Scoped; the
// scan_scope bitmask, scanresult.Scope): a scan runs only the analyzers
// of the parts it selects.
//
// Each analyzer appends its findings to the scanresult.Analysis that
// scanner.Report embeds, in the types the store keeps; see "Adding an
// analyzer" in docs/scanner.md.
package analyzers

import (
	"fmt"
	"log/slog"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/secrets"
)

// Options configure the analyzers. The zero value works: no signature
// database (only the built-in malware rules), no secrets allowlist, no
// logs.
type Options struct {
	// Signatures is the malware hash database: the store
	// (scanresult.AnalysisStore implements it).
	Signatures malware.Signatures
	// SecretAllowlist is the secrets analyzer's path allowlist (absolute
	// paths or path.Match globs; --sensitive-allowlist).
	SecretAllowlist []string
	Logger          *slog.Logger
}

// New builds every analyzer, in the order they run after the inventory.
// It fails on a bad option (an allowlist entry that is not a valid glob),
// never later during a scan.
func New(o Options) ([]scanner.Analyzer, error) {
	b, err := baseline.New(baseline.Options{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("baseline analyzer: %w", err)
	}
	m, err := malware.New(malware.Options{Signatures: o.Signatures, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("malware analyzer: %w", err)
	}
	sec, err := secrets.New(secrets.Options{Allowlist: o.SecretAllowlist, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("secrets analyzer: %w", err)
	}
	return []scanner.Analyzer{b, m, sec}, nil
}
