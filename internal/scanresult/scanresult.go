// Package scanresult is the scan vocabulary: what a scan leaves behind
// for one manifest digest — its software inventory (the SBOM), the
// vulnerabilities matched against it and the analyzers' findings (see
// Analysis) — and the Store interfaces that persist them.
//
// Every other package speaks these types: the scanner and its analyzers
// produce them (scanner.Report embeds SBOM and Analysis), the matcher
// (internal/vulndb) reads Package and writes Finding, the stores persist
// them and the API renders them. No package keeps a look-alike type, so
// nothing copies one into another. The package imports nothing heavier
// than internal/inventory's plain types, so any of them can depend on it.
//
// The two halves change at different speeds: the inventory only when the
// image is scanned again (content is addressed by digest, so practically
// never), the findings whenever the vulnerability database changes. So the
// store replaces them separately: a re-match rewrites findings without
// touching the inventory or pulling a layer.
package scanresult

import (
	"context"
	"slices"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
)

// SBOM is the software inventory of one manifest.
type SBOM struct {
	Digest    string   // manifest digest, "sha256:<hex>"
	Layers    []string // layer digests, base first
	OSID      string   // os-release ID: "debian", "alpine", "ubuntu"
	OSVersion string   // os-release VERSION_ID: "12", "3.20.3", "24.04"
	OSName    string   // os-release PRETTY_NAME
	ScannedAt int64    // ms; set by whoever records the scan, not the scanner
	Packages  []Package
	// History is parallel to Layers: each layer's size and the image
	// config's history step that made it. Nil when not recorded (an
	// inventory stored before openhss recorded it): readers say so
	// rather than guess.
	History []LayerHistory
}

// LayerHistory is one layer of an image as its manifest and config
// describe it.
type LayerHistory struct {
	Size int64 `json:"size"` // compressed, as the manifest declares it
	// CreatedBy is the config history's created_by of the layer (the
	// history's entries that are not empty_layer, in order, are the
	// layers); empty when the history does not say, or its non-empty
	// entries are not as many as the layers (then none can be trusted).
	CreatedBy string `json:"created_by,omitempty"`
}

// HistoryEntry is one entry of an image config's history, as
// LayersHistory reads it.
type HistoryEntry struct {
	CreatedBy  string
	EmptyLayer bool
}

// LayersHistory maps an image config's history onto its layers of the
// given sizes: the entries marked empty_layer made no layer, the others
// are the layers, in order. When those are not as many as the layers the
// history cannot say which step made which layer, so every CreatedBy is
// left empty.
func LayersHistory(sizes []int64, hist []HistoryEntry) []LayerHistory {
	out := make([]LayerHistory, len(sizes))
	var made []string
	for _, h := range hist {
		if !h.EmptyLayer {
			made = append(made, h.CreatedBy)
		}
	}
	for i, n := range sizes {
		out[i].Size = n
		if len(made) == len(sizes) {
			out[i].CreatedBy = cut(made[i], MaxCreatedBy)
		}
	}
	return out
}

// MaxCreatedBy bounds a stored history step: the image's author wrote it,
// and a RUN line can be any length.
const MaxCreatedBy = 4096

// cut is s within n bytes, cut at a character boundary, with "…" when cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// A rune cut in two is invalid UTF-8, which ToValidUTF8 drops.
	s = s[:n-len("…")]
	return strings.ToValidUTF8(s, "") + "…"
}

// ScanHistoryLimit is how many scans of a manifest the store keeps per
// project: the newest ones.
const ScanHistoryLimit = 50

// ScanHistoryStore keeps each project's recent scans of a manifest, for
// the web console's Scan history tab. The writers of a project's result
// (AnalysisStore.SaveScopedScan, Store.ClearScan, the shared result's
// adoption) add its entry in the transaction that records it, so a result
// never lacks its entry: a failure with its reason, or a success, whose
// counts are the manifest's stored ones (which a partial scan kept for the
// parts it left out). The project's oldest beyond ScanHistoryLimit go.
type ScanHistoryStore interface {
	// ScanHistory returns the project's recorded scans of digest, newest
	// first.
	ScanHistory(ctx context.Context, projectID, digest string) ([]inventory.ScanResult, error)
}

// Package is one piece of software in an image. Its index in SBOM.Packages
// is its identity within the digest (Finding.Package refers to it).
type Package struct {
	Name    string
	Version string
	// Ecosystem is the OSV ecosystem: "Debian:12", "Alpine:v3.20", "Go",
	// "npm", "PyPI", "Maven" (NormalizeEcosystem's spellings).
	Ecosystem string
	// For OS packages whose vulnerability records name the source package
	// (Debian, Ubuntu, Alpine): dpkg's Source: field or apk's origin, and
	// the source version when it differs from Version (a dpkg binNMU
	// "+b1"). The matcher looks records up under them when set.
	SourceName    string
	SourceVersion string
	Type          string // "dpkg", "apk", "rpm", "go-module", "go-stdlib", "npm", "python", "java"
	Path          string // where in the image it was found: "/var/lib/dpkg/status", "/usr/bin/app"
	LayerDigest   string // the layer that last wrote Path
	PURL          string
	// Platform is "GOOS/GOARCH" of the Go binary at Path, from its build
	// information ("linux/amd64"); empty for other packages and for
	// binaries that do not record it (built before Go 1.18). Go records
	// whose code is only built for other platforms do not match it.
	Platform string
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

// Finding is one vulnerability affecting one package of an SBOM, as the
// matcher (vulndb.DB.Match) produces it and the stores keep it.
type Finding struct {
	Package         int    // index into SBOM.Packages (or the slice given to the matcher)
	VulnID          string // OSV id: "GO-2022-1059", "DEBIAN-CVE-2023-1234"
	Aliases         []string
	RepairNecessity string // immediate_repair, delay_repair, not_needed_repair
	// Severity is critical, high, medium, low, none, a distribution's
	// word, or unknown.
	Severity string
	Score    float64 // CVSS base score; 0 without one
	// FixedVersion is the first version that fixes the installed one;
	// empty when no fix is published.
	FixedVersion string
	// Description is the record's summary, else the first line of its
	// details (bounded): HSS shows a one-line description, not an
	// advisory.
	Description string
	URL         string
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
	// Severity is the finding's stored label (Finding.Severity:
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
	// Aliases are the record's other ids (CVE, GHSA) as matched; never
	// nil. The web console shows them beside VulnID.
	Aliases []string
}

// SeverityCount is how many findings carry one severity label
// (Finding.Severity as stored), and how many of them name a fixed version.
type SeverityCount struct {
	Severity          string
	Findings, Fixable int64
}

// VulnFilter selects findings of one manifest. String filters are literal,
// case-sensitive substrings; empty means no condition.
type VulnFilter struct {
	Digest          string
	RepairNecessity string // exact
	VulnID          string
	AppName         string
	Type            VulType // exact
	// SeverityClass is one of SeverityClasses: the findings whose label
	// (Finding.Severity, any case) ClassOfSeverity puts in it.
	SeverityClass string
	// Fixable, when set, keeps the findings that name a fixed version
	// (true) or those that do not (false).
	Fixable *bool
	// LayerDigest keeps the findings on packages of that layer (exact).
	LayerDigest   string
	Offset, Limit int
}

// The severity classes the web console groups findings by: an advisory's
// CVSS rating and the distributions' words folded into five.
const (
	ClassCritical = "critical"
	ClassHigh     = "high"
	ClassMedium   = "medium"
	ClassLow      = "low"
	ClassUnknown  = "unknown" // no rating, or a word none of the others knows
)

// SeverityClasses are the classes, most severe first.
var SeverityClasses = []string{ClassCritical, ClassHigh, ClassMedium, ClassLow, ClassUnknown}

// severityLabels are the lower-case words of each class but ClassUnknown,
// which holds every other label: CVSS ratings ("none" is a base score of
// 0, vulndb.LabelForScore) and the distributions' words (Red Hat's
// "important", Debian's "unimportant"). This is the one table: the
// console's classes, vulndb's repair necessity (which reads a rating of
// "none" as unassessed, not low) and the CLI's --fail-on all read labels
// through ClassOfSeverity.
var severityLabels = map[string][]string{
	ClassCritical: {"critical"},
	ClassHigh:     {"high", "important"},
	ClassMedium:   {"medium", "moderate"},
	ClassLow:      {"low", "negligible", "unimportant", "none"},
}

// guessed is the suffix Debian marks an urgency it guessed with
// ("medium*"): the label reads as the word without it.
const guessed = "*"

// SeverityLabels returns the lower-case labels of class (each word also
// with Debian's guessed mark), and every known label (those of the other
// classes) for ClassUnknown, which holds the labels not in that list: a
// store's filter is "lower(label) IN labels", or NOT IN for ClassUnknown.
func SeverityLabels(class string) (labels []string, unknown bool) {
	classes := []string{class}
	if unknown = class == ClassUnknown; unknown {
		classes = SeverityClasses[:4]
	}
	for _, c := range classes {
		for _, w := range severityLabels[c] {
			labels = append(labels, w, w+guessed)
		}
	}
	return labels, unknown
}

// ClassOfSeverity is the class of a finding's severity label (any case,
// surrounding space and Debian's guessed mark ignored).
func ClassOfSeverity(label string) string {
	l := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(label)), guessed)
	for _, c := range SeverityClasses[:4] {
		if slices.Contains(severityLabels[c], l) {
			return c
		}
	}
	return ClassUnknown
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
	LayerDigest   string // exact: the packages whose file that layer last wrote
	Offset, Limit int
}

// Store persists SBOMs and findings. Saving a scan and recording its result
// on the manifest happen in one transaction, so a row never shows a vul_num
// its findings disagree with.
type Store interface {
	// SaveScan replaces the SBOM and findings of sbom.Digest and records r
	// on the manifest and every row describing it (in no project's scan
	// history: a scan's writer saves with AnalysisStore.SaveScopedScan).
	SaveScan(ctx context.Context, sbom SBOM, findings []Finding, r inventory.ScanResult) error
	// ClearScan records the failed scan r on the rows of projectID that
	// describe digest, and no other project's, and in its scan history.
	// The SBOM, findings and analysis of digest (and the shared result on
	// its manifest) are removed once no row of any project shows or waits
	// to replace them, so a failed scan leaves no stale details behind
	// without taking away another project's result.
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
	// CountFindings counts by severity label the findings of the manifests
	// whose successful scan the project's rows in enterpriseProjects (nil:
	// all) show, each manifest once.
	CountFindings(ctx context.Context, projectID string, enterpriseProjects []string) ([]SeverityCount, error)
	// TopImages returns at most n of the project's rows in
	// enterpriseProjects (nil: all) with vulnerabilities, most urgent
	// first: severity_level (High, Medium, Low, Security), then vul_num.
	TopImages(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]TopImage, error)
	// TopVulns returns at most n vulnerability ids found in the most of
	// the project's successfully scanned rows in enterpriseProjects (nil:
	// all), with the number of those rows.
	TopVulns(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]TopVuln, error)
}

// TopImage is one row of the web console's top images.
type TopImage struct {
	ID                   int64
	Type                 string
	Namespace, Name, Tag string
	SeverityLevel        string
	VulNum               int32
}

// TopVuln is one vulnerability of the web console's top vulnerabilities:
// its OSV/HSS id, the aliases and severity one of its findings carries,
// and how many rows show it.
type TopVuln struct {
	VulnID   string
	Aliases  []string // never nil
	Severity string
	Images   int64
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
