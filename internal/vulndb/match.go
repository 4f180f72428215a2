package vulndb

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/openhss/openhss/internal/scanresult"
)

// keysPerQuery bounds one store lookup; each key is two SQL parameters.
const keysPerQuery = 400

// Match returns the findings for pkgs, ordered by package index then
// vulnerability id, one per (package, vulnerability); Finding.Package is
// the index in pkgs. It reads a package's Ecosystem, Name, Version,
// SourceName, SourceVersion and Platform: the scanner's inventory as it is
// stored, so a re-match needs nothing but the stored SBOM. Records are
// looked up under SourceName (and SourceVersion) when set: Debian, Ubuntu
// and Alpine records name source packages.
func (db *DB) Match(ctx context.Context, pkgs []scanresult.Package) ([]scanresult.Finding, error) {
	type target struct {
		idx      int
		key      Key
		version  string
		platform string
	}
	byKey := make(map[Key][]target)
	var keys []Key
	for i, p := range pkgs {
		name, version := p.Name, p.Version
		if p.SourceName != "" {
			name = p.SourceName
			if p.SourceVersion != "" {
				version = p.SourceVersion
			}
		}
		k := KeyFor(p.Ecosystem, name)
		if k.Name == "" || version == "" {
			continue
		}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], target{idx: i, key: k, version: version, platform: p.Platform})
	}

	records := make(map[string]*Record)
	var findings []scanresult.Finding
	for chunk := range slices.Chunk(keys, keysPerQuery) {
		hits, err := db.store.VulnsFor(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("vulndb: match: %w", err)
		}
		for _, h := range hits {
			rec, ok := records[h.ID]
			if !ok {
				if rec, err = DecodeRecord(h.Data); err != nil {
					return nil, fmt.Errorf("vulndb: match: %s: %w", h.ID, err)
				}
				records[h.ID] = rec
			}
			if rec.IsWithdrawn() {
				continue
			}
			for _, t := range byKey[h.Key] {
				if f, ok := matchRecord(rec, t.key, t.version, t.platform); ok {
					f.Package = t.idx
					findings = append(findings, f)
				}
			}
		}
	}
	slices.SortFunc(findings, func(a, b scanresult.Finding) int {
		return cmp.Or(cmp.Compare(a.Package, b.Package), cmp.Compare(a.VulnID, b.VulnID))
	})
	return slices.CompactFunc(findings, func(a, b scanresult.Finding) bool {
		return a.Package == b.Package && a.VulnID == b.VulnID
	}), nil
}

// matchRecord evaluates rec's affected entries for the package under key at
// version, built for platform; the first affected entry that matches decides
// the finding.
func matchRecord(rec *Record, key Key, version, platform string) (scanresult.Finding, bool) {
	for i := range rec.Affected {
		a := &rec.Affected[i]
		if KeyFor(a.Ecosystem, a.Name) != key || !a.AppliesTo(platform) {
			continue
		}
		fixed, ok := Affects(a, version)
		if !ok {
			continue
		}
		fixed = settledFix(rec, key, platform, fixed)
		score, label, necessity := Rate(rec, a)
		return scanresult.Finding{
			VulnID:          rec.ID,
			Aliases:         rec.AllAliases(),
			Score:           score,
			Severity:        label,
			RepairNecessity: string(necessity),
			FixedVersion:    fixed,
			Description:     description(rec),
			URL:             rec.URL,
		}, true
	}
	return scanresult.Finding{}, false
}

// maxDescription bounds a description taken from a record's details (HSS
// shows a one-line description, not an advisory).
const maxDescription = 512

// description is the record's summary, else the first line of its
// details, cut at maxDescription bytes on a character boundary.
func description(rec *Record) string {
	if rec.Summary != "" {
		return rec.Summary
	}
	d := rec.Details
	for i, r := range d {
		if r == '\n' && i > 0 {
			d = d[:i]
			break
		}
	}
	if len(d) > maxDescription {
		cut := maxDescription
		for cut > 0 && d[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		d = d[:cut] + "…"
	}
	return d
}

// settledFix follows a fix that is itself affected by another entry of the
// same record (Go's GO-2023-2185: fixed in 1.21.4, which needed 1.21.5) to
// the first version no entry affects; empty when that chain ends unfixed.
func settledFix(rec *Record, key Key, platform, fixed string) string {
	for range 16 { // a chain longer than this would be a broken record
		if fixed == "" {
			return ""
		}
		next, affected := "", false
		for i := range rec.Affected {
			a := &rec.Affected[i]
			if KeyFor(a.Ecosystem, a.Name) != key || !a.AppliesTo(platform) {
				continue
			}
			if f, ok := Affects(a, fixed); ok {
				next, affected = f, true
				break
			}
		}
		if !affected {
			return fixed
		}
		fixed = next
	}
	return fixed
}

// AppliesTo reports whether a concerns a Go binary built for platform
// ("GOOS/GOARCH"). It does not when the platform is known and every one of
// a's imports is restricted to other platforms: the vulnerable code is
// then not compiled into the binary (GO-2026-5024 is in
// golang.org/x/sys/windows, which a linux binary does not contain). An
// entry without imports, an import without restrictions, or an unknown
// platform (or half of one) applies. Only Go entries carry imports.
func (a *Affected) AppliesTo(platform string) bool {
	if len(a.Imports) == 0 || platform == "" {
		return true
	}
	goos, goarch, _ := strings.Cut(platform, "/")
	for _, im := range a.Imports {
		if im.builtFor(goos, goarch) {
			return true
		}
	}
	return false
}

// restricted reports whether the import is limited to some platforms.
func (im Import) restricted() bool { return len(im.GOOS) > 0 || len(im.GOARCH) > 0 }

// builtFor reports whether the import's code is built for goos/goarch; an
// empty goos or goarch is unknown and does not exclude anything.
func (im Import) builtFor(goos, goarch string) bool {
	return (goos == "" || len(im.GOOS) == 0 || slices.Contains(im.GOOS, goos)) &&
		(goarch == "" || len(im.GOARCH) == 0 || slices.Contains(im.GOARCH, goarch))
}

// Affects reports whether version of the package is affected by a, and the
// version that fixes it when one is published. version is in the package's
// own form: Go stdlib "go1.21.3" and Go module "v1.2.3" are accepted.
func Affects(a *Affected, version string) (fixed string, affected bool) {
	eco := ecosystemBase(scanresult.NormalizeEcosystem(a.Ecosystem))
	if eco == "Go" {
		version = goVersion(version)
	}
	if a.AllVersions {
		return "", true
	}
	parsedByType := map[string]semantic.Version{}
	installed := func(typ string) semantic.Version {
		if v, ok := parsedByType[typ]; ok {
			return v
		}
		v, err := parseFor(typ, eco, version)
		if err != nil {
			v = nil
		}
		parsedByType[typ] = v
		return v
	}
	for _, listed := range a.Versions {
		if listed == version || strings.TrimPrefix(listed, "v") == strings.TrimPrefix(version, "v") {
			return firstFixedAbove(a, eco, installed), true
		}
		if v := installed("ECOSYSTEM"); v != nil {
			if c, err := v.CompareStr(listed); err == nil && c == 0 {
				return firstFixedAbove(a, eco, installed), true
			}
		}
	}
	for _, rg := range a.Ranges {
		v := installed(rg.Type)
		if v == nil {
			continue
		}
		if fix, ok := inRange(rg, eco, v); ok {
			return fix, true
		}
	}
	return "", false
}

func firstFixedAbove(a *Affected, eco string, installed func(string) semantic.Version) string {
	for _, rg := range a.Ranges {
		if v := installed(rg.Type); v != nil {
			if fix := fixedAbove(rg, eco, v); fix != "" {
				return fix
			}
		}
	}
	return ""
}

// parseFor parses a version for a range type: SEMVER ranges compare by
// SemVer 2.0 whatever the ecosystem; ECOSYSTEM ranges by the ecosystem's
// own rules (dpkg, apk, PEP 440, Maven...).
func parseFor(typ, eco, version string) (semantic.Version, error) {
	if typ == "SEMVER" {
		return semantic.ParseSemverVersion(version), nil
	}
	return semantic.Parse(version, eco)
}

type sortedEvent struct {
	kind    string // introduced, fixed, last_affected, limit
	version string
	v       semantic.Version // nil for "0" and "*"
}

// sortEvents parses and sorts a range's events by version, as the OSV
// spec's evaluation requires; introduced "0" sorts first, limit "*" last.
// ok is false when an event's version does not parse: such a range cannot
// be evaluated and is skipped rather than guessed.
func sortEvents(rg Range, eco string) (events []sortedEvent, ok bool) {
	for _, e := range rg.Events {
		var se sortedEvent
		switch {
		case e.Introduced != "":
			se = sortedEvent{kind: "introduced", version: e.Introduced}
		case e.Fixed != "":
			se = sortedEvent{kind: "fixed", version: e.Fixed}
		case e.LastAffected != "":
			se = sortedEvent{kind: "last_affected", version: e.LastAffected}
		case e.Limit != "":
			se = sortedEvent{kind: "limit", version: e.Limit}
		default:
			continue
		}
		if !(se.kind == "introduced" && se.version == "0") && !(se.kind == "limit" && se.version == "*") {
			v, err := parseFor(rg.Type, eco, se.version)
			if err != nil {
				return nil, false
			}
			se.v = v
		}
		events = append(events, se)
	}
	slices.SortStableFunc(events, compareEvents)
	return events, true
}

func compareEvents(a, b sortedEvent) int {
	rank := func(e sortedEvent) int {
		switch {
		case e.v == nil && e.kind == "introduced":
			return -1
		case e.v == nil:
			return 1
		}
		return 0
	}
	if ra, rb := rank(a), rank(b); ra != 0 || rb != 0 {
		return cmp.Compare(ra, rb)
	}
	c, err := a.v.Compare(b.v)
	if err != nil {
		return 0
	}
	return c
}

// inRange evaluates one range exactly as the OSV spec's pseudo-code: walk
// the sorted events; introduced at or below v opens, fixed at or below v
// closes, last_affected below v closes. Limit events, when present, bound
// the range from above (v must be below one of them).
func inRange(rg Range, eco string, v semantic.Version) (fixed string, affected bool) {
	events, ok := sortEvents(rg, eco)
	if !ok {
		return "", false
	}
	var limited, belowLimit bool
	for _, e := range events {
		switch e.kind {
		case "introduced":
			if e.v == nil || compareTo(v, e.v) >= 0 {
				affected = true
			}
		case "fixed":
			if compareTo(v, e.v) >= 0 {
				affected = false
			}
		case "last_affected":
			if compareTo(v, e.v) > 0 {
				affected = false
			}
		case "limit":
			limited = true
			if e.v == nil || compareTo(v, e.v) < 0 {
				belowLimit = true
			}
		}
	}
	if !affected || (limited && !belowLimit) {
		return "", false
	}
	return firstFixed(events, v), true
}

// fixedAbove is the fix for v in rg, whether or not v is in the range.
func fixedAbove(rg Range, eco string, v semantic.Version) string {
	events, ok := sortEvents(rg, eco)
	if !ok {
		return ""
	}
	return firstFixed(events, v)
}

func firstFixed(sorted []sortedEvent, v semantic.Version) string {
	for _, e := range sorted {
		if e.kind == "fixed" && compareTo(v, e.v) < 0 {
			return e.version
		}
	}
	return ""
}

// compareTo compares v with w; versions of one range share a parser, so
// an error (different ecosystems) cannot happen and counts as equal.
func compareTo(v, w semantic.Version) int {
	c, _ := v.Compare(w)
	return c
}

var goTag = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?`)

// goVersion turns Go's own version spellings into the SemVer the Go
// vulnerability database uses: toolchain tags ("go1.21.3" → "1.21.3",
// "go1.21" → "1.21.0", "go1.21rc2" → "1.21.0-rc.2") and module versions
// ("v1.2.3" → "1.2.3").
func goVersion(v string) string {
	if m := goTag.FindStringSubmatch(v); m != nil {
		minor, patch := cmp.Or(m[2], "0"), cmp.Or(m[3], "0")
		out := m[1] + "." + minor + "." + patch
		if m[4] != "" {
			out += "-" + m[4] + "." + m[5]
		}
		return out
	}
	return strings.TrimPrefix(v, "v")
}
