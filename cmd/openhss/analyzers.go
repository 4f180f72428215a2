package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
)

// analyzingScanner is the scanner with the baseline, malware and secrets
// analyzers. The analyzers are built on the first scan, not at start-up:
// compiling the secret rules takes a few hundred milliseconds that
// commands which never scan (db import, malware import) should not pay.
// The malware analyzer keeps state for the scan in progress, so every
// scan gets its own (ForScan) and its own scanner.Scanner around it.
type analyzingScanner struct {
	opts scanner.Options // without Analyzers
	sigs scanresult.AnalysisStore
	log  *slog.Logger

	once     sync.Once
	err      error
	baseline *baseline.Analyzer
	malware  *malware.Analyzer
	secrets  *secrets.Analyzer
}

func (s *analyzingScanner) init() {
	s.baseline, s.err = baseline.New(baseline.Options{Logger: s.log})
	if s.err != nil {
		return
	}
	s.secrets, s.err = secrets.New(secrets.Options{Logger: s.log})
	if s.err != nil {
		s.err = fmt.Errorf("secrets analyzer: %w", s.err)
		return
	}
	s.malware = malware.New(malware.Options{Signatures: scanjob.SignatureDB{Store: s.sigs}, Logger: s.log})
}

// Scan implements scanjob.Scanner.
func (s *analyzingScanner) Scan(ctx context.Context, img v1.Image) (*scanner.Report, error) {
	s.once.Do(s.init)
	if s.err != nil {
		return nil, &scanner.Failure{Status: inventory.ScanFailed, Desc: scanner.DescFailedToScanSoftware, Err: s.err}
	}
	o := s.opts
	o.Analyzers = []scanner.Analyzer{s.baseline, s.malware.ForScan(), s.secrets}
	return scanner.New(o).Scan(ctx, img)
}
