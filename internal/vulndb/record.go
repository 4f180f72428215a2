// Package vulndb keeps OSV vulnerability records (https://ossf.github.io/osv-schema/)
// in the openhss store and matches software packages against them.
//
// Records are parsed into a compact Record that keeps only what matching and
// the HSS vulnerability APIs need; the store holds each record as one JSON
// blob plus an index of (ecosystem, package name) → record id.
package vulndb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/scanresult"
)

// Record is one OSV vulnerability in the compact form openhss stores.
type Record struct {
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified"`
	Published time.Time `json:"published,omitzero"`
	// Withdrawn is zero unless the record was withdrawn; withdrawn records
	// are stored (so that an older copy cannot come back) but never match.
	Withdrawn time.Time `json:"withdrawn,omitzero"`
	Aliases   []string  `json:"aliases,omitempty"`
	// Upstream lists the ids this record was derived from (OSV 1.7
	// `upstream`, e.g. the CVE behind a DEBIAN-CVE record).
	Upstream   []string    `json:"upstream,omitempty"`
	Summary    string      `json:"summary,omitempty"`
	Details    string      `json:"details,omitempty"`
	Severity   []Severity  `json:"severity,omitempty"`
	Affected   []Affected  `json:"affected,omitempty"`
	References []Reference `json:"references,omitempty"`
	// Rating is a qualitative severity published by the source outside the
	// CVSS vectors (GHSA database_specific.severity, Ubuntu priority...),
	// lower-cased; empty when there is none.
	Rating string `json:"rating,omitempty"`
	// URL is the record's human-readable page, chosen at import.
	URL string `json:"url,omitempty"`
}

// Severity is one OSV severity entry. Base is the computed base score of a
// CVSS vector; nil when the entry is not CVSS or its vector does not parse.
type Severity struct {
	Type  string   `json:"type"`
	Score string   `json:"score"`
	Base  *float64 `json:"base,omitempty"`
}

// Affected is one affected[] entry. GIT ranges are dropped at parse time.
type Affected struct {
	Ecosystem string     `json:"ecosystem"`
	Name      string     `json:"name"`
	PURL      string     `json:"purl,omitempty"`
	Ranges    []Range    `json:"ranges,omitempty"`
	Versions  []string   `json:"versions,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	// Rating is the distribution's own qualitative severity for this
	// package (ecosystem_specific/database_specific "severity" or "urgency").
	Rating string `json:"rating,omitempty"`
	// AllVersions is set when the source entry had neither ranges (of any
	// type) nor versions: OSV tooling reads that as "every version".
	AllVersions bool `json:"all,omitempty"`
	// Imports are a Go entry's ecosystem_specific.imports, kept only when
	// at least one of them is restricted to some platforms: an entry whose
	// imports all apply everywhere matches like one without imports, and
	// leaving them out keeps the stored form of those records unchanged.
	// See AppliesTo.
	Imports []Import `json:"imports,omitempty"`
}

// Import is one package of a Go module or of the standard library that
// holds the vulnerable code, with the platforms it is restricted to: GOOS
// and GOARCH values, each list empty when the code is in every one. The
// record's symbols are not kept: openhss does not analyse which functions
// a binary calls.
type Import struct {
	Path   string   `json:"path"`
	GOOS   []string `json:"goos,omitempty"`
	GOARCH []string `json:"goarch,omitempty"`
}

// Range is an ECOSYSTEM or SEMVER range.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Reference is one OSV reference.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// IsWithdrawn reports whether the record was withdrawn.
func (r *Record) IsWithdrawn() bool { return !r.Withdrawn.IsZero() }

// AllAliases returns the record's aliases and upstream ids, deduplicated
// and sorted, without the record's own id.
func (r *Record) AllAliases() []string {
	out := make([]string, 0, len(r.Aliases)+len(r.Upstream))
	for _, a := range slices.Concat(r.Aliases, r.Upstream) {
		if a != "" && a != r.ID {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// osvRecord is the published OSV JSON, reduced to the fields we read.
type osvRecord struct {
	ID               string          `json:"id"`
	Modified         string          `json:"modified"`
	Published        string          `json:"published"`
	Withdrawn        string          `json:"withdrawn"`
	Aliases          []string        `json:"aliases"`
	Upstream         []string        `json:"upstream"`
	Summary          string          `json:"summary"`
	Details          string          `json:"details"`
	Severity         []osvSeverity   `json:"severity"`
	Affected         []osvAffected   `json:"affected"`
	References       []Reference     `json:"references"`
	DatabaseSpecific json.RawMessage `json:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
		PURL      string `json:"purl"`
	} `json:"package"`
	Severity          []osvSeverity   `json:"severity"`
	Ranges            []Range         `json:"ranges"`
	Versions          []string        `json:"versions"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific"`
	DatabaseSpecific  json.RawMessage `json:"database_specific"`
}

// ErrNotOSV is returned by ParseOSV for JSON that is not an OSV record.
var ErrNotOSV = errors.New("not an OSV record")

// ParseOSV parses one OSV record in the published JSON form.
func ParseOSV(data []byte) (*Record, error) {
	var in osvRecord
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("osv: %w", err)
	}
	if in.ID == "" || in.Modified == "" {
		return nil, fmt.Errorf("osv: %w: missing id or modified", ErrNotOSV)
	}
	r := &Record{
		ID:         in.ID,
		Aliases:    in.Aliases,
		Upstream:   in.Upstream,
		Summary:    strings.TrimSpace(in.Summary),
		Details:    strings.TrimSpace(in.Details),
		Severity:   scoreAll(in.Severity),
		References: in.References,
	}
	var err error
	if r.Modified, err = parseTime(in.Modified); err != nil {
		return nil, fmt.Errorf("osv %s: modified: %w", in.ID, err)
	}
	if r.Published, err = parseTime(in.Published); err != nil {
		return nil, fmt.Errorf("osv %s: published: %w", in.ID, err)
	}
	if r.Withdrawn, err = parseTime(in.Withdrawn); err != nil {
		return nil, fmt.Errorf("osv %s: withdrawn: %w", in.ID, err)
	}
	var dbSpecific struct {
		Severity    string `json:"severity"`     // GHSA
		USNSeverity string `json:"usn_severity"` // Ubuntu USN OVAL
		URL         string `json:"url"`          // Go vulndb
	}
	if len(in.DatabaseSpecific) > 0 && in.DatabaseSpecific[0] == '{' {
		_ = json.Unmarshal(in.DatabaseSpecific, &dbSpecific) // shape varies by source; absent fields are fine
	}
	r.Rating = firstRating(ratingFromSeverities(in.Severity), dbSpecific.Severity, dbSpecific.USNSeverity)
	r.URL = pickURL(dbSpecific.URL, r.References)

	for _, a := range in.Affected {
		if a.Package.Name == "" || a.Package.Ecosystem == "" {
			continue // GIT-only entries name a repository, not a package
		}
		out := Affected{
			Ecosystem:   a.Package.Ecosystem,
			Name:        a.Package.Name,
			PURL:        a.Package.PURL,
			Versions:    a.Versions,
			Severity:    scoreAll(a.Severity),
			Rating:      firstRating(ratingFromSeverities(a.Severity), specificRating(a.EcosystemSpecific), specificRating(a.DatabaseSpecific)),
			AllVersions: len(a.Ranges) == 0 && len(a.Versions) == 0,
		}
		for _, rg := range a.Ranges {
			if rg.Type == "ECOSYSTEM" || rg.Type == "SEMVER" {
				out.Ranges = append(out.Ranges, rg)
			}
		}
		if ecosystemBase(scanresult.NormalizeEcosystem(out.Ecosystem)) == "Go" {
			out.Imports = goImports(a.EcosystemSpecific)
		}
		r.Affected = append(r.Affected, out)
	}
	return r, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// specificRating reads a distribution's qualitative severity from an
// ecosystem_specific or database_specific object.
func specificRating(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	var v struct {
		Severity any    `json:"severity"`
		Urgency  string `json:"urgency"` // Debian security tracker
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	s, _ := v.Severity.(string)
	return firstRating(s, v.Urgency)
}

// goImports reads a Go entry's ecosystem_specific.imports, and returns
// them only when at least one is restricted to some platforms (see
// Affected.Imports). A shape it cannot read gives none: the entry then
// matches on every platform, as it did before imports were read.
func goImports(raw json.RawMessage) []Import {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var v struct {
		Imports []Import `json:"imports"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	if !slices.ContainsFunc(v.Imports, Import.restricted) {
		return nil
	}
	return v.Imports
}

// ratingFromSeverities returns a qualitative score from non-CVSS severity
// entries (OSV type "Ubuntu", for instance, scores "medium").
func ratingFromSeverities(sev []osvSeverity) string {
	for _, s := range sev {
		if !strings.HasPrefix(s.Type, "CVSS_") && s.Score != "" {
			return s.Score
		}
	}
	return ""
}

func firstRating(candidates ...string) string {
	for _, c := range candidates {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			return c
		}
	}
	return ""
}

// pickURL chooses the page a user should open for the record: the
// database's own page when it names one, else an advisory, else the first
// web reference, else any reference.
func pickURL(dbURL string, refs []Reference) string {
	if dbURL != "" {
		return dbURL
	}
	for _, want := range []string{"ADVISORY", "WEB", ""} {
		for _, ref := range refs {
			if want == "" || ref.Type == want {
				return ref.URL
			}
		}
	}
	return ""
}

// encode is the stored form: compact JSON of the Record.
func (r *Record) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("vulndb: encode %s: %w", r.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeRecord decodes a record in its stored form.
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("vulndb: decode record: %w", err)
	}
	return &r, nil
}
