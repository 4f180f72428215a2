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
)

// Report is what one scan of one manifest found.
type Report struct {
	Digest   string   // the manifest scanned
	Layers   []string // layer digests, base first
	OS       OSRelease
	Packages []Package
	// Bytes read from layers (compressed) and written to the scratch
	// filesystem, for metrics and limits.
	CompressedBytes, UnpackedBytes int64

	// Findings of the analyzers beyond the software inventory.
	Baseline      []BaselineResult // every rule evaluated, passed or not
	WeakPasswords []WeakPassword
	Malware       []MalwareFinding
	Secrets       []SecretFinding
	// FileHashes keeps the hashes of executables and scripts, so a new
	// malware signature can be checked against scanned images without
	// pulling them again.
	FileHashes []FileHash

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

// BaselineResult is the outcome of one baseline (unsafe setting) rule.
type BaselineResult struct {
	RuleID      string // stable: "config.runs-as-root"
	Name        string // the rule's short name: HSS's check_rule_name
	CheckName   string // the baseline it belongs to
	CheckType   string
	Severity    string // "Security", "Low", "Medium", "High"
	Standard    string // "hw_standard" or "cn_standard"
	Description string
	Remediation string
	Passed      bool
	Evidence    string // what failed it: a path, a variable name; never a secret value
}

// WeakPassword is an account whose password is empty or in the weak list.
// The password itself is never kept.
type WeakPassword struct {
	User     string
	Type     string // "empty_password" or "weak_password"
	Path     string // "/etc/shadow"
	Layer    string
	UserType string // "root", "system", "user"
}

// MalwareFinding is a file matching a malware signature or content rule.
type MalwareFinding struct {
	FileName    string
	FilePath    string
	Size        int64
	SHA256      string
	Rule        string // signature name or content rule id
	Description string
	LayerDigest string
}

// SecretFinding is sensitive information found in a file. Content is
// masked: at most a short prefix and the length, never the secret.
type SecretFinding struct {
	ID          string // stable per (rule, path, line)
	RuleID      string
	Severity    string
	Name        string
	Description string
	FilePath    string
	Line        int
	LayerDigest string
	Content     string // masked
}

// FileHash is the SHA-256 of one file of the final filesystem.
type FileHash struct {
	Path        string
	SHA256      string
	Size        int64
	LayerDigest string
}

// OSRelease is the image's /etc/os-release (or /usr/lib/os-release).
type OSRelease struct {
	ID         string // "debian", "alpine", "ubuntu"
	VersionID  string // "12", "3.20.3", "24.04"
	PrettyName string
}

// Package is one piece of software found in the image.
type Package struct {
	Name      string
	Version   string
	Ecosystem string // OSV ecosystem: "Debian:12", "Alpine:v3.20", "Go", "npm", "PyPI", "Maven"
	// For OS packages whose vulnerability records name the source package
	// (Debian, Ubuntu): dpkg's Source: field, and its version when it
	// differs from Version.
	SourceName    string
	SourceVersion string
	Type          string // "dpkg", "apk", "rpm", "go-module", "go-stdlib", "npm", "python", "java"
	Path          string // where in the image it was found: "/var/lib/dpkg/status", "/usr/bin/app"
	LayerDigest   string // the layer that last wrote Path
	PURL          string
	// Platform is "GOOS/GOARCH" of the Go binary at Path, from its build
	// information ("linux/amd64"); empty for other packages and for
	// binaries that do not record it (built before Go 1.18).
	Platform string
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
