package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/analyzers"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
)

// analyzingScanner is the scanner with the analyzers of
// internal/scanner/analyzers. The analyzers are built on the first scan, not at start-up:
// compiling the secret rules takes a few hundred milliseconds that
// commands which never scan (db import, malware import) should not pay.
// The malware analyzer's per-scan state is the scanner's business
// (scanner.ScanLocal), so one scanner serves every scan.
type analyzingScanner struct {
	opts scanner.Options // without Analyzers
	sigs scanresult.AnalysisStore
	// secretAllowlist is the secrets analyzer's path allowlist
	// (--sensitive-allowlist).
	secretAllowlist []string
	log             *slog.Logger

	once    sync.Once
	err     error
	scanner *scanner.Scanner
}

func (s *analyzingScanner) init() {
	as, err := analyzers.New(analyzers.Options{Signatures: s.sigs, SecretAllowlist: s.secretAllowlist, Logger: s.log})
	if err != nil {
		s.err = err
		return
	}
	o := s.opts
	o.Analyzers = as
	s.scanner, s.err = scanner.New(o)
}

// ScanScope implements scanjob.Scanner.
func (s *analyzingScanner) ScanScope(ctx context.Context, img v1.Image, scope scanresult.Scope) (*scanner.Report, error) {
	s.once.Do(s.init)
	if s.err != nil {
		return nil, &scanner.Failure{Status: inventory.ScanFailed, Desc: scanner.DescFailedToScanSoftware, Err: s.err}
	}
	return s.scanner.ScanScope(ctx, img, scope)
}

// allowlistFlag is --sensitive-allowlist: repeatable, each value a comma
// separated list of absolute paths or path.Match globs. Every entry is
// checked as the flag is parsed, so a bad one stops the command at start
// rather than failing every scan once the analyzer is first built.
type allowlistFlag struct{ list *[]string }

func (f *allowlistFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f *allowlistFlag) Set(v string) error {
	for _, p := range splitList(v) {
		if _, err := secrets.NewAllowlist([]string{p}); err != nil {
			return err
		}
		*f.list = append(*f.list, p)
	}
	return nil
}

func (f *allowlistFlag) Type() string { return "paths" }
