package vulndb

import (
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/openhss/openhss/internal/scanresult"
)

// RepairNecessity is HSS's repair_necessity.
type RepairNecessity string

const (
	ImmediateRepair RepairNecessity = "immediate_repair"
	DelayRepair     RepairNecessity = "delay_repair"
	NotNeededRepair RepairNecessity = "not_needed_repair"
)

// NecessityForScore maps a CVSS base score: ≥ 7.0 immediate, ≥ 4.0 delay,
// else not needed.
func NecessityForScore(score float64) RepairNecessity {
	switch {
	case score >= 7.0:
		return ImmediateRepair
	case score >= 4.0:
		return DelayRepair
	default:
		return NotNeededRepair
	}
}

// NecessityForRating maps a qualitative severity (GHSA, Ubuntu priority,
// Debian urgency, Red Hat/SUSE ratings) through its class
// (scanresult.ClassOfSeverity, the one table of the words). Words that say
// nothing about the risk ("unknown", "not yet assigned"...) give
// delay_repair, the same as a record without any severity: an unrated
// vulnerability is not ignored, nor raised to an emergency. So does a
// rating of "none" (Ubuntu's priority for an unassessed issue), which the
// classes read as CVSS's "none", a base score of 0 (low).
func NecessityForRating(rating string) RepairNecessity {
	if strings.EqualFold(strings.TrimSpace(rating), "none") {
		return DelayRepair
	}
	switch scanresult.ClassOfSeverity(rating) {
	case scanresult.ClassCritical, scanresult.ClassHigh:
		return ImmediateRepair
	case scanresult.ClassLow:
		return NotNeededRepair
	default:
		return DelayRepair
	}
}

// LabelForScore is the CVSS v3 qualitative rating of a base score.
func LabelForScore(score float64) string {
	switch {
	case score >= 9.0:
		return "critical"
	case score >= 7.0:
		return "high"
	case score >= 4.0:
		return "medium"
	case score > 0:
		return "low"
	default:
		return "none"
	}
}

// baseScore computes the base score of a CVSS vector of the given OSV
// severity type; ok is false when the vector does not parse.
func baseScore(typ, vector string) (score float64, ok bool) {
	switch {
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.1/"):
		if v, err := gocvss31.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case typ == "CVSS_V3" && strings.HasPrefix(vector, "CVSS:3.0/"):
		if v, err := gocvss30.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	case typ == "CVSS_V4":
		if v, err := gocvss40.ParseVector(vector); err == nil {
			return v.Score(), true
		}
	case typ == "CVSS_V2":
		if v, err := gocvss20.ParseVector(vector); err == nil {
			return v.BaseScore(), true
		}
	}
	return 0, false
}

func scoreAll(in []osvSeverity) []Severity {
	if len(in) == 0 {
		return nil
	}
	out := make([]Severity, 0, len(in))
	for _, s := range in {
		sev := Severity{Type: s.Type, Score: s.Score}
		if base, ok := baseScore(s.Type, s.Score); ok {
			sev.Base = &base
		}
		out = append(out, sev)
	}
	return out
}

// scorePreference orders the CVSS versions we take a score from: HSS's
// thresholds are CVSS v3 thresholds, so v3 wins when both v3 and v4 exist.
var scorePreference = []string{"CVSS_V3", "CVSS_V4", "CVSS_V2"}

// bestScore picks the base score to rate a finding by; ok is false when no
// vector gave one.
func bestScore(sev []Severity) (s Severity, ok bool) {
	for _, typ := range scorePreference {
		for _, c := range sev {
			if c.Type == typ && c.Base != nil {
				return c, true
			}
		}
	}
	return Severity{}, false
}

// Rate decides a finding's score, label and repair necessity for one
// affected entry of r. The rule, in order:
//  1. a CVSS base score (affected-level severity first, then the record's;
//     v3 before v4 before v2) → the score thresholds;
//  2. else a qualitative rating (the affected entry's distribution rating,
//     then the record's) → NecessityForRating;
//  3. else delay_repair with label "unknown".
func Rate(r *Record, a *Affected) (score float64, label string, necessity RepairNecessity) {
	if a != nil {
		if s, ok := bestScore(a.Severity); ok {
			return *s.Base, LabelForScore(*s.Base), NecessityForScore(*s.Base)
		}
	}
	if s, ok := bestScore(r.Severity); ok {
		return *s.Base, LabelForScore(*s.Base), NecessityForScore(*s.Base)
	}
	rating := r.Rating
	if a != nil && a.Rating != "" {
		rating = a.Rating
	}
	if rating != "" {
		return 0, rating, NecessityForRating(rating)
	}
	return 0, "unknown", DelayRepair
}
