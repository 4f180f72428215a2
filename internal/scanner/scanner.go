// Package scanner finds out what is inside a container image: it streams
// each layer once, applies OCI whiteouts, keeps only the files its analyzers
// ask for (bounded in size, inside a scratch directory the scan owns), and
// runs osv-scalibr's extractors over that small filesystem.
//
// The scanner never knows where an image came from: a registry tag, an OCI
// layout and a docker archive are all a v1.Image by the time they get here.
// What is wrong with the software it finds is the matcher's business
// (internal/vulndb), not the scanner's.
package scanner

import (
	"errors"
	"fmt"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// Report is what one scan of one manifest found: the software inventory
// and the analyzers' findings, in the types the store keeps
// (internal/scanresult), so that nothing has to copy them.
type Report struct {
	// SBOM is the software inventory: the manifest's Digest, its Layers
	// (base first), its os-release and Packages. ScannedAt is left zero:
	// the time of a scan is whoever records it to say.
	scanresult.SBOM
	// Analysis holds the findings of the analyzers beyond the software
	// inventory; each appends its own.
	scanresult.Analysis

	// Bytes read from layers (compressed) and written to the scratch
	// filesystem, for metrics and limits. Not stored.
	CompressedBytes, UnpackedBytes int64

	// Work counts what the analyzers did, by "analyzer.counter"
	// ("secrets.bytes", "secrets.matches"): for logs and for tests that
	// bound work rather than time. Not stored.
	Work map[string]int64
}

// AddWork adds n to the Work counter key.
func (r *Report) AddWork(key string, n int64) {
	if r.Work == nil {
		r.Work = map[string]int64{}
	}
	r.Work[key] += n
}

// Failure is a scan that ended without a report, with the HSS status and
// scan_failed_desc it maps to.
type Failure struct {
	Status inventory.ScanStatus // DownloadFailed, ImageOversized or ScanFailed
	Desc   string               // one of the Desc* values below
	Err    error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s (%s): %v", f.Status, f.Desc, f.Err) }
func (f *Failure) Unwrap() error { return f.Err }

// scan_failed_desc values: HSS's own vocabulary, which clients match on, so
// no other value is ever stored. docs/scanner.md (Status and failure
// mapping) says which failure gives which.
const (
	DescUnknown               = "unknown_error"
	DescAuthenticationFailed  = "authentication_failed"
	DescDownloadFailed        = "download_failed"
	DescImageOversized        = "image_oversized"
	DescFailedToScanVuln      = "failed_to_scan_vulnerability"
	DescFailedToScanFile      = "failed_to_scan_file"
	DescFailedToScanSoftware  = "failed_to_scan_software"
	DescFailedToCheckSecrets  = "failed_to_check_sensitive_information"
	DescFailedToCheckBaseline = "failed_to_check_baseline"
	DescResponseTimedOut      = "response_timed_out"
	DescDatabaseError         = "database_error"
)

// AsFailure returns err's Failure, or a generic one for any other error.
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Status: inventory.ScanFailed, Desc: DescUnknown, Err: err}
}
