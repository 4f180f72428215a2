package sqlstore

import (
	"context"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/trend"
)

// ImageCounts implements trend.Counter: a project's image_counts rows
// within enterpriseProjects summed per (image type, scan status, severity
// level), in one statement and so one snapshot. The conditions are
// countWhere's for the filter of the project and enterprise projects
// alone, so that each (type, status) or (type, level) sum is exactly the
// total_num the image list answers for that filter from the same table.
// Keys that sum to 0 (a PostgreSQL key whose deltas cancel) are left out.
func (s *Store) ImageCounts(ctx context.Context, projectID string, enterpriseProjects []string) ([]trend.ImageCount, error) {
	if !s.scopeCanMatch(projectID, enterpriseProjects) {
		return []trend.ImageCount{}, nil
	}
	f := inventory.Filter{ProjectID: projectID, EnterpriseProjects: enterpriseProjects}
	where, args, _ := countWhere(s.d, f, nil) // countable: no substring, range or connection
	return readAll(ctx, s, s.read, "count images of project "+projectID, func(r rowScanner) (trend.ImageCount, error) {
		var (
			c       trend.ImageCount
			typ, st string
		)
		err := r.Scan(&typ, &st, &c.SeverityLevel, &c.Images)
		c.Type, c.ScanStatus = inventory.ImageType(typ), inventory.ScanStatus(st)
		return c, err
	}, `SELECT c.image_type, c.scan_status, c.severity_level, CAST(sum(c.rows) AS BIGINT) FROM image_counts c
		WHERE `+where+` GROUP BY c.image_type, c.scan_status, c.severity_level HAVING sum(c.rows) <> 0
		ORDER BY c.image_type, c.scan_status, c.severity_level`, args...)
}
