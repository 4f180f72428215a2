package secrets

import (
	"strings"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/report"
)

// lineContext is how much of a match's line, on either side of the match,
// an allowlist of regexTarget "line" is tested against.
const lineContext = 256

// lineAllowlists are the allowlists whose regexTarget is "line" (in the
// default rules, two of generic-api-key's: `import {…} from '…'`,
// `--mount=type=secret,`, BitBake license lines), taken out of gitleaks'
// configuration and applied here to each finding it returns.
//
// gitleaks tests them, for every regular-expression match that passes the
// entropy check, against the whole line of the match: on a long line
// dense with candidates (a minified bundle, or a hostile file of one
// 512 KiB line) that is quadratic, minutes to hours for one file, and
// gitleaks checks the context only between rules. Here the line is cut
// to lineContext bytes around the match, so each test costs a bounded
// amount; on lines shorter than that nothing changes.
type lineAllowlists struct {
	global []*config.Allowlist
	rules  map[string][]*config.Allowlist
}

// takeLineAllowlists removes the "line" allowlists from cfg and returns
// them. Rules that are part of a composite rule keep theirs: gitleaks
// combines their findings before returning them.
func takeLineAllowlists(cfg *config.Config) lineAllowlists {
	composite := map[string]bool{}
	for id, r := range cfg.Rules {
		if len(r.RequiredRules) > 0 {
			composite[id] = true
			for _, req := range r.RequiredRules {
				composite[req.RuleID] = true
			}
		}
	}
	var la lineAllowlists
	la.global, cfg.Allowlists = splitLineAllowlists(cfg.Allowlists)
	la.rules = map[string][]*config.Allowlist{}
	for id, r := range cfg.Rules {
		if composite[id] {
			continue
		}
		line, rest := splitLineAllowlists(r.Allowlists)
		if len(line) == 0 {
			continue
		}
		r.Allowlists = rest
		cfg.Rules[id] = r
		la.rules[id] = line
	}
	return la
}

func splitLineAllowlists(all []*config.Allowlist) (line, rest []*config.Allowlist) {
	for _, a := range all {
		if a.RegexTarget == "line" {
			line = append(line, a)
		} else {
			rest = append(rest, a)
		}
	}
	return line, rest
}

// allowed reports whether one of the taken allowlists drops f, found in
// the file at filePath, as gitleaks' checkFindingAllowed would with the
// line cut around the match.
func (la lineAllowlists) allowed(f report.Finding, filePath string) bool {
	rule := la.rules[f.RuleID]
	if len(la.global) == 0 && len(rule) == 0 {
		return false
	}
	line := matchContext(f)
	for _, lists := range [][]*config.Allowlist{la.global, rule} {
		for _, a := range lists {
			if lineAllowed(a, f, filePath, line) {
				return true
			}
		}
	}
	return false
}

func lineAllowed(a *config.Allowlist, f report.Finding, filePath, line string) bool {
	regex := a.RegexAllowed(line)
	stop, _ := a.ContainsStopWord(f.Secret)
	if a.MatchCondition != config.AllowlistMatchAnd {
		return regex || stop
	}
	// AND: every kind of condition the allowlist has must hold. A file
	// of an image has no commit, so a commit condition never does.
	var checks []bool
	if len(a.Commits) > 0 {
		checks = append(checks, false)
	}
	if len(a.Paths) > 0 {
		checks = append(checks, a.PathAllowed(filePath))
	}
	if len(a.Regexes) > 0 {
		checks = append(checks, regex)
	}
	if len(a.StopWords) > 0 {
		checks = append(checks, stop)
	}
	for _, ok := range checks {
		if !ok {
			return false
		}
	}
	return true
}

// matchContext is f's line cut to lineContext bytes on either side of the
// match. gitleaks' Line starts at the newline before the match's line
// (column 1 is the byte after it), except on an unterminated last line,
// where it starts at the beginning of the fragment.
func matchContext(f report.Finding) string {
	line, n := f.Line, len(f.Match)
	off := f.StartColumn - 1
	if off < 0 || off+n > len(line) || line[off:off+n] != f.Match {
		off = strings.LastIndexByte(line, '\n') + f.StartColumn - 1
		if off < 0 || off+n > len(line) || line[off:off+n] != f.Match {
			if off = strings.Index(line, f.Match); off < 0 {
				return line
			}
		}
	}
	return line[max(0, off-lineContext):min(len(line), off+n+lineContext)]
}
