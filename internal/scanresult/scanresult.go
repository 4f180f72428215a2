// Package scanresult holds what a scan leaves behind for one manifest
// digest: its software inventory (the SBOM) and the vulnerabilities matched
// against it, and the Store interface that persists them.
//
// The two halves change at different speeds: the inventory only when the
// image is scanned again (content is addressed by digest, so practically
// never), the findings whenever the vulnerability database changes. So the
// store replaces them separately: a re-match rewrites findings without
// touching the inventory or pulling a layer.
package scanresult

import (
	"context"

	"github.com/openhss/openhss/internal/inventory"
)

// SBOM is the software inventory of one manifest.
type SBOM struct {
	Digest    string   // manifest digest, "sha256:<hex>"
	Layers    []string // layer digests, base first
	OSID      string   // os-release ID: "debian", "alpine"
	OSVersion string   // os-release VERSION_ID
	OSName    string   // os-release PRETTY_NAME
	ScannedAt int64    // ms
	Packages  []Package
}

// Package is one piece of software in an image. Its index in SBOM.Packages
// is its identity within the digest (Finding.Package refers to it).
type Package struct {
	Name          string
	Version       string
	Ecosystem     string // OSV ecosystem: "Debian:12", "Go"
	SourceName    string // dpkg Source:, when records name source packages
	SourceVersion string
	Type          string // "dpkg", "apk", "rpm", "go-module", "go-stdlib", "npm", "python", "java"
	Path          string // where it was found in the image
	LayerDigest   string // the layer that last wrote Path
	PURL          string
	Platform      string // "GOOS/GOARCH" of a Go binary ("linux/amd64"); empty when unknown or not Go
}

// VulType is HSS's vulnerability type of a finding.
type VulType string

const (
	LinuxVul VulType = "linux_vul" // a package of the operating system's package manager
	AppVul   VulType = "app_vul"   // anything else: Go modules, npm, PyPI, Maven...
)

// TypeOf says whether a package of the given scanner type is an operating
// system package.
func TypeOf(pkgType string) VulType {
	switch pkgType {
	case "dpkg", "apk", "rpm":
		return LinuxVul
	}
	return AppVul
}

// Finding is one vulnerability affecting one package of an SBOM.
type Finding struct {
	Package         int    // index into SBOM.Packages
	VulnID          string // OSV id: "GO-2022-1059", "DEBIAN-CVE-2023-1234"
	Aliases         []string
	RepairNecessity string // immediate_repair, delay_repair, not_needed_repair
	Severity        string
	Score           float64
	FixedVersion    string // empty when no fix is published
	Description     string
	URL             string
}

// FindingsUpdate is what a re-match found for one stored inventory: its
// findings (Package indexes its stored SBOM) and its vul_num.
type FindingsUpdate struct {
	Digest   string
	Findings []Finding
	VulNum   int32
}

// VulnRow is one row of ListImageVulnerabilities: a finding joined with its
// package.
type VulnRow struct {
	VulnID          string
	RepairNecessity string
	// Severity is the finding's stored label (vulndb.Finding.Severity:
	// critical, high, medium, low, none, a distribution's word, or
	// unknown). HSS's item has no such field; the CLI's table and its
	// --fail-on gate read it.
	Severity     string
	Description  string
	LayerDigest  string
	AppName      string
	AppPath      string
	Version      string
	FixedVersion string
	URL          string
	Type         VulType
}

// VulnFilter selects findings of one manifest. String filters are literal,
// case-sensitive substrings; empty means no condition.
type VulnFilter struct {
	Digest          string
	RepairNecessity string // exact
	VulnID          string
	AppName         string
	Type            VulType // exact
	Offset, Limit   int
}

// AppRow is one row of ListImageApps: a package and how many distinct
// vulnerabilities affect it.
type AppRow struct {
	Name        string
	Type        string
	Version     string
	Path        string
	LayerDigest string
	VulNum      int32
}

// AppFilter selects packages of one manifest.
type AppFilter struct {
	Digest        string
	AppName       string // substring
	Offset, Limit int
}

// Store persists SBOMs and findings. Saving a scan and recording its result
// on the manifest happen in one transaction, so a row never shows a vul_num
// its findings disagree with.
type Store interface {
	// SaveScan replaces the SBOM and findings of sbom.Digest and records r
	// on the manifest and every row describing it.
	SaveScan(ctx context.Context, sbom SBOM, findings []Finding, r inventory.ScanResult) error
	// ClearScan records the failed scan r on the rows of projectID that
	// describe digest, and no other project's. The SBOM, findings and
	// analysis of digest (and the shared result on its manifest) are
	// removed once no row of any project shows or waits to replace them,
	// so a failed scan leaves no stale details behind without taking away
	// another project's result.
	ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error
	// ReplaceFindings is a re-match's write: for each update, it swaps the
	// findings of the digest and sets vul_num on the manifest and its rows
	// (only where the last scan succeeded). A digest without a stored SBOM
	// (its scan failed since the caller read it) is skipped. All updates
	// commit together or not at all, so a re-match writes many inventories
	// per transaction and an interrupted one leaves every image either
	// matched again or as it was. A digest must not appear twice.
	ReplaceFindings(ctx context.Context, updates []FindingsUpdate) error
	// GetSBOM returns the stored SBOM of digest (inventory.ErrNotFound when
	// there is none).
	GetSBOM(ctx context.Context, digest string) (SBOM, error)
	// SBOMDigests lists every digest with a stored SBOM, in digest order.
	SBOMDigests(ctx context.Context) ([]string, error)

	ListVulns(ctx context.Context, f VulnFilter) (total int64, rows []VulnRow, err error)
	ListApps(ctx context.Context, f AppFilter) (total int64, rows []AppRow, err error)
}

// DistinctVulns counts distinct vulnerability ids: an image's vul_num, so a
// record affecting three packages of one image counts once.
func DistinctVulns(fs []Finding) int32 {
	seen := make(map[string]struct{}, len(fs))
	for _, f := range fs {
		seen[f.VulnID] = struct{}{}
	}
	return int32(len(seen))
}
