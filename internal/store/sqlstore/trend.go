package sqlstore

import (
	"context"

	"github.com/openhss/openhss/internal/trend"
)

// trendCols are trend_days' figure columns, in the order of trendFigures.
const trendCols = `images, scanned, failed, unscanned, critical, critical_fixable, high, high_fixable,
	medium, medium_fixable, low, low_fixable, unknown, unknown_fixable`

// trendSums are the sums of trendCols, as BIGINT on both engines
// (PostgreSQL's sum of a BIGINT is a numeric).
const trendSums = `CAST(sum(images) AS BIGINT), CAST(sum(scanned) AS BIGINT), CAST(sum(failed) AS BIGINT),
	CAST(sum(unscanned) AS BIGINT), CAST(sum(critical) AS BIGINT), CAST(sum(critical_fixable) AS BIGINT),
	CAST(sum(high) AS BIGINT), CAST(sum(high_fixable) AS BIGINT), CAST(sum(medium) AS BIGINT),
	CAST(sum(medium_fixable) AS BIGINT), CAST(sum(low) AS BIGINT), CAST(sum(low_fixable) AS BIGINT),
	CAST(sum(unknown) AS BIGINT), CAST(sum(unknown_fixable) AS BIGINT)`

// trendFigures are pointers to f's fields in trendCols order.
func trendFigures(f *trend.Figures) []any {
	out := []any{&f.Images, &f.Scanned, &f.Failed, &f.Unscanned}
	for i := range f.Findings {
		out = append(out, &f.Findings[i].Findings, &f.Findings[i].Fixable)
	}
	return out
}

// trendSet is the SET list of the snapshot upsert: taken_at and every
// column of trendCols, from the row proposed (the suite's ReplaceOnlyStale
// fails when one is left out).
const trendSet = `taken_at = excluded.taken_at, images = excluded.images, scanned = excluded.scanned,
	failed = excluded.failed, unscanned = excluded.unscanned, critical = excluded.critical,
	critical_fixable = excluded.critical_fixable, high = excluded.high, high_fixable = excluded.high_fixable,
	medium = excluded.medium, medium_fixable = excluded.medium_fixable, low = excluded.low,
	low_fixable = excluded.low_fixable, unknown = excluded.unknown, unknown_fixable = excluded.unknown_fixable`

// PendingTrendScopes implements trend.Store: the (project, enterprise
// project) pairs of image_counts (the list's counters, one row per key
// rather than per image), of the registry connections, of the day
// before's snapshots that counted images while day has none (a scope
// emptied since: its drop to 0 is recorded once, not recounted all day)
// and of day's stale ones that counted images, without a snapshot of day
// taken at or after staleBefore.
func (s *Store) PendingTrendScopes(ctx context.Context, day, staleBefore int64) ([]trend.Scope, error) {
	return readAll(ctx, s, s.read, "pending trend scopes", func(r rowScanner) (trend.Scope, error) {
		var sc trend.Scope
		err := r.Scan(&sc.ProjectID, &sc.EnterpriseProjectID)
		return sc, err
	}, `SELECT c.project_id, c.enterprise_project_id FROM (
			SELECT project_id, enterprise_project_id FROM image_counts
				GROUP BY project_id, enterprise_project_id HAVING sum(rows) <> 0
			UNION SELECT project_id, enterprise_project_id FROM registries
			UNION SELECT y.project_id, y.enterprise_project_id FROM trend_days y WHERE y.day = $1 AND y.images > 0
				AND NOT EXISTS (SELECT 1 FROM trend_days t WHERE t.project_id = y.project_id
					AND t.enterprise_project_id = y.enterprise_project_id AND t.day = $2)
			UNION SELECT project_id, enterprise_project_id FROM trend_days WHERE day = $3 AND images > 0
				AND taken_at < $4
		) c
		WHERE NOT EXISTS (SELECT 1 FROM trend_days t WHERE t.project_id = c.project_id
			AND t.enterprise_project_id = c.enterprise_project_id AND t.day = $5 AND t.taken_at >= $6)
		ORDER BY c.project_id, c.enterprise_project_id`, day-1, day, day, staleBefore, day, staleBefore)
}

// PutTrendSnapshot implements trend.Store: the row's key (project,
// enterprise project, day) is the claim, so the first writer of a day
// keeps it and a later one changes it only when the stored row was taken
// before replaceBefore, which a writer sets to its own count's time less
// the refresh interval: servers sharing the database replace a row once
// per interval, always by a newer count, and never add a second row.
func (s *Store) PutTrendSnapshot(ctx context.Context, sn trend.Snapshot, replaceBefore int64) (bool, error) {
	if !s.storable(sn.ProjectID, sn.EnterpriseProjectID) {
		return false, s.errf("trend snapshot of %q/%q: not storable", sn.ProjectID, sn.EnterpriseProjectID)
	}
	args := []any{sn.ProjectID, sn.EnterpriseProjectID, sn.Day, sn.TakenAt}
	for _, p := range trendFigures(&sn.Figures) {
		args = append(args, *p.(*int64))
	}
	args = append(args, replaceBefore)
	n, err := execCount(ctx, s.write, `INSERT INTO trend_days (project_id, enterprise_project_id, day, taken_at,
		`+trendCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (project_id, enterprise_project_id, day) DO UPDATE SET `+trendSet+`
		WHERE trend_days.taken_at < $19`, args...)
	if err != nil {
		return false, s.errf("store trend snapshot of %s/%s: %w", sn.ProjectID, sn.EnterpriseProjectID, err)
	}
	return n > 0, nil
}

// PruneTrend implements trend.Store, by the day index.
func (s *Store) PruneTrend(ctx context.Context, before int64) (int64, error) {
	n, err := execCount(ctx, s.write, `DELETE FROM trend_days WHERE day < $1`, before)
	if err != nil {
		return 0, s.errf("prune trend: %w", err)
	}
	return n, nil
}

// TrendPoints implements trend.Reader: the snapshots of the project within
// enterpriseProjects summed per day, by the key's prefix.
func (s *Store) TrendPoints(ctx context.Context, projectID string, enterpriseProjects []string, from, to int64) ([]trend.Point, error) {
	out := []trend.Point{}
	if !s.scopeCanMatch(projectID, enterpriseProjects) {
		return out, nil
	}
	b := newScoped(s.d, "", projectID, enterpriseProjects)
	b.Op("day", ">=", from)
	b.Op("day", "<=", to)
	return readAll(ctx, s, s.read, "trend of project "+projectID, func(r rowScanner) (p trend.Point, err error) {
		return p, r.Scan(append([]any{&p.Day}, trendFigures(&p.Figures)...)...)
	}, `SELECT day, `+trendSums+` FROM trend_days WHERE `+b.SQL()+`
		GROUP BY day ORDER BY day`, b.Args()...)
}
