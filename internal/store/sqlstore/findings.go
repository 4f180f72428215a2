package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"

	"github.com/openhss/openhss/internal/scanresult"
)

var _ scanresult.FindingsAggregator = (*Store)(nil)

// The baseline lists over many images: each is one query over the
// selected rows' distinct manifests, grouped and paged in SQL, with the
// unpaged total read in the same statement (count(*) OVER ()).

// scannedDigest is the manifest whose analysis a row of images aliased i
// shows: the described manifest (a multi-arch tag's member), else the
// tag's digest.
const scannedDigest = `CASE WHEN i.manifest_digest <> '' THEN i.manifest_digest ELSE i.digest END`

// severityRank ranks the baseline severity in col by its index in
// severities: Security (and any unknown) 0, Low 1, ... Critical 4.
func severityRank(col string) string {
	q := `CASE ` + col
	for i, s := range severities[1:] {
		q += ` WHEN '` + s + `' THEN ` + strconv.Itoa(i+1)
	}
	return q + ` ELSE 0 END`
}

// severities are the names of the ranks of severityRank.
var severities = scanresult.BaselineSeverities

// selectRows is the condition over images aliased i selecting the rows of
// sel, bound in a new builder (first in the statement's text), and its
// order; ok is false when no row can match.
func (s *Store) selectRows(ctx context.Context, tx *sql.Tx, sel scanresult.RowSelection) (b *builder, order string, ok bool, err error) {
	f := sel.Filter
	if sel.IDs != nil {
		b = newBuilder(s.d)
		b.Eq("i.project_id", f.ProjectID)
		if len(sel.IDs) > 0 {
			b.InInts("i.id", sel.IDs)
		}
		return b, "i.id", len(sel.IDs) > 0 && s.storable(f.ProjectID), nil
	}
	if !s.canMatch(f) {
		return nil, "", false, nil
	}
	w, err := imageWhere(s.d, f, func() (Repos, error) { return s.resolveRepos(ctx, tx, f) })
	if err != nil || w.Empty {
		return nil, "", false, err
	}
	b = newBuilder(s.d, w.Args...)
	b.Where(w.Where)
	return b, "i.latest_update_time DESC, i.id DESC", true, nil
}

// aggregate runs in one read snapshot the statement
// "with SELECT cols, count(*) OVER () rest LIMIT … OFFSET …", rest ending
// in its ORDER BY, whose arguments are bound in b, calling scan on each
// row; it returns the unpaged total. A page past the end has no row to
// carry the total: it is then counted alone.
func (s *Store) aggregate(ctx context.Context, tx *sql.Tx, b *builder, with, cols, rest string, offset, limit int,
	scan func(rowScanner, *int64) error) (int64, error) {
	n := len(b.Args())
	q := with + ` SELECT ` + cols + `, count(*) OVER () ` + rest + ` LIMIT ` + b.Arg(limitOf(limit)) + ` OFFSET ` + b.Arg(max(offset, 0))
	var total int64
	read, err := queryAll(ctx, tx, func(r rowScanner) (bool, error) { return true, scan(r, &total) }, q, b.Args()...)
	if err != nil || len(read) > 0 || offset <= 0 {
		return total, err
	}
	err = tx.QueryRowContext(ctx, with+` SELECT count(*) FROM (SELECT 1 `+rest+`) AS c`, b.Args()[:n]...).Scan(&total)
	return total, err
}

// overRows reads one page of what over the rows of sel, in one read
// snapshot: fn gets the condition selecting them (selectRows) and their
// order, appends the page to out and returns the unpaged total. A
// selection no row can match is an empty page.
func overRows[T any](ctx context.Context, s *Store, what string, sel scanresult.RowSelection,
	fn func(tx *sql.Tx, b *builder, order string, out *[]T) (int64, error)) (int64, []T, error) {
	out := []T{}
	tx, err := s.snapshot(ctx)
	if err != nil {
		return 0, nil, s.errf("%s: %w", what, err)
	}
	defer tx.Rollback()
	b, order, ok, err := s.selectRows(ctx, tx, sel)
	if err != nil || !ok {
		return 0, out, err
	}
	total, err := fn(tx, b, order, &out)
	if err != nil {
		return 0, nil, s.errf("%s: %w", what, err)
	}
	return total, out, nil
}

// RiskConfigs implements scanresult.FindingsAggregator: per baseline, the
// rules evaluated and failed over the selected rows' manifests.
func (s *Store) RiskConfigs(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskConfigFilter) (int64, []scanresult.RiskConfig, error) {
	if !s.storable(f.CheckName, f.Severity, f.Standard) {
		return 0, []scanresult.RiskConfig{}, nil
	}
	return overRows(ctx, s, "risk configs", sel, func(tx *sql.Tx, b *builder, _ string, out *[]scanresult.RiskConfig) (int64, error) {
		with := `WITH g AS (SELECT check_name, min(check_type) AS check_type, min(standard) AS standard, count(*) AS rules,
				sum(CASE WHEN ` + s.d.IsTrue("passed") + ` THEN 0 ELSE 1 END) AS failed,
				max(CASE WHEN ` + s.d.IsTrue("passed") + ` THEN 0 ELSE ` + severityRank("severity") + ` END) AS worst
			FROM baseline_results WHERE digest IN (SELECT ` + scannedDigest + ` FROM images i WHERE ` + b.SQL() + `)
			GROUP BY check_name)`
		c := newBuilder(s.d, b.Args()...)
		c.Where("true")
		if f.CheckName != "" {
			c.Contains("check_name", f.CheckName)
		}
		if f.Severity != "" {
			rank := slices.Index(severities, f.Severity)
			if rank < 0 {
				return 0, nil // no baseline has another severity
			}
			c.Eq("worst", rank)
		}
		if f.Standard != "" {
			c.Eq("standard", f.Standard)
		}
		return s.aggregate(ctx, tx, c, with, `check_name, check_type, standard, rules, failed, worst`,
			`FROM g WHERE `+c.SQL()+` ORDER BY `+s.d.bytewise("check_name"), f.Offset, f.Limit,
			func(r rowScanner, total *int64) error {
				var (
					rc   scanresult.RiskConfig
					rank int
				)
				err := r.Scan(&rc.CheckName, &rc.CheckType, &rc.Standard, &rc.Rules, &rc.Failed, &rank, total)
				rc.Severity = severities[min(max(rank, 0), len(severities)-1)]
				*out = append(*out, rc)
				return err
			})
	})
}

// RiskConfigRules implements scanresult.FindingsAggregator: the rules of
// one baseline, or of each of f.Baselines, over the selected rows'
// manifests.
func (s *Store) RiskConfigRules(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskRuleFilter) (int64, []scanresult.RiskRule, error) {
	keys := f.Baselines
	if len(keys) == 0 {
		keys = []scanresult.BaselineKey{{CheckName: f.CheckName, Standard: f.Standard}}
	}
	// A name no column can hold names no baseline.
	var checks, standards []string
	for _, k := range keys {
		if s.storable(k.CheckName, k.Standard) {
			checks, standards = append(checks, k.CheckName), append(standards, k.Standard)
		}
	}
	if len(checks) == 0 || !s.storable(f.Severity, f.RuleName) {
		return 0, []scanresult.RiskRule{}, nil
	}
	return overRows(ctx, s, "risk config rules", sel, func(tx *sql.Tx, b *builder, _ string, out *[]scanresult.RiskRule) (int64, error) {
		digests := `SELECT ` + scannedDigest + ` FROM images i WHERE ` + b.SQL()
		c := newBuilder(s.d, b.Args()...)
		var baselines string
		if len(checks) == 1 {
			baselines = `check_name = ` + c.Arg(checks[0]) + ` AND standard = ` + c.Arg(standards[0])
		} else {
			baselines = `(check_name, standard) IN (` + c.Rows(col{Type: "text", Values: checks}, col{Type: "text", Values: standards}) + `)`
		}
		with := `WITH g AS (SELECT check_name, standard, rule_id, min(name) AS name, min(check_type) AS check_type,
				min(severity) AS severity, max(CASE WHEN ` + s.d.IsTrue("passed") + ` THEN 0 ELSE 1 END) AS failed
			FROM baseline_results WHERE digest IN (` + digests + `) AND ` + baselines + `
			GROUP BY check_name, standard, rule_id)`
		c.Where("true")
		switch f.Result {
		case "pass":
			c.Where("failed = 0")
		case "failed":
			c.Where("failed = 1")
		}
		if f.Severity != "" {
			c.Eq("severity", f.Severity)
		}
		if f.RuleName != "" {
			c.Contains("name", f.RuleName)
		}
		return s.aggregate(ctx, tx, c, with, `check_name, standard, rule_id, name, check_type, severity, failed`,
			`FROM g WHERE `+c.SQL()+` ORDER BY `+s.d.bytewise("check_name")+`, `+s.d.bytewise("standard")+`, rule_id`, f.Offset, f.Limit,
			func(r rowScanner, total *int64) error {
				var (
					rr     scanresult.RiskRule
					failed int
				)
				err := r.Scan(&rr.CheckName, &rr.Standard, &rr.RuleID, &rr.Name, &rr.CheckType, &rr.Severity, &failed, total)
				rr.Failed = failed != 0
				*out = append(*out, rr)
				return err
			})
	})
}

// WeakPasswordUsers implements scanresult.FindingsAggregator: the
// weak-password accounts of each selected row's manifest.
func (s *Store) WeakPasswordUsers(ctx context.Context, sel scanresult.RowSelection, f scanresult.WeakPasswordFilter) (int64, []scanresult.WeakPasswordRow, error) {
	if !s.storable(f.User) {
		return 0, []scanresult.WeakPasswordRow{}, nil
	}
	return overRows(ctx, s, "weak passwords", sel, func(tx *sql.Tx, b *builder, order string, out *[]scanresult.WeakPasswordRow) (int64, error) {
		if f.User != "" {
			b.Contains("w.user_name", f.User)
		}
		return s.aggregate(ctx, tx, b, "", `i.namespace, i.name, i.tag, i.digest, i.image_type, i.latest_scan_time,
				w.user_name, w.type, w.path, w.layer_digest, w.user_type`,
			`FROM images i JOIN weak_passwords w ON w.digest = `+scannedDigest+` WHERE `+b.SQL()+`
			ORDER BY `+order+`, w.user_name, w.path`, f.Offset, f.Limit,
			func(r rowScanner, total *int64) error {
				var w scanresult.WeakPasswordRow
				err := r.Scan(&w.Namespace, &w.Name, &w.Tag, &w.Digest, &w.Type, &w.LatestScanTime,
					&w.User, &w.WeakPassword.Type, &w.Path, &w.LayerDigest, &w.UserType, total)
				*out = append(*out, w)
				return err
			})
	})
}
