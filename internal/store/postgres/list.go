package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
)

// ListImages returns one page of rows matching f and the count of all of
// them. Everything runs in one REPEATABLE READ transaction, so the page, the
// count and the generation they are cached under come from one snapshot.
//
// The page is one statement: an inner SELECT of ids walks the index matching
// the filter in (latest_update_time DESC, id DESC) order and applies
// OFFSET/LIMIT on index entries only; the outer SELECT reads the at most
// Limit rows and their multi-arch members.
//
// As in the SQLite store, the total and bookmarks (the sort key of the
// first row of each page served) are cached per filter and generation; the
// generation is the project's sum of images_changes weights, which every
// committed change to the project's rows increases.
func (s *Store) ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error) {
	page := inventory.Page{Images: []inventory.Image{}}
	if f.EnterpriseProjects != nil && len(f.EnterpriseProjects) == 0 {
		return page, nil // granted no enterprise project: nothing to see
	}
	if !filterStorable(f) {
		return page, nil // no stored string contains an invalid one
	}
	if f.Limit <= 0 {
		f.Limit = 10
	}
	f.Offset = max(f.Offset, 0)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return page, fmt.Errorf("postgres: list images: %w", err)
	}
	defer tx.Rollback(ctx)

	var gen, changes int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(weight), 0)::int8, count(*) FROM images_changes WHERE project_id = $1`,
		f.ProjectID).Scan(&gen, &changes); err != nil {
		return page, fmt.Errorf("postgres: list images: %w", err)
	}
	if changes > maxChangeRows {
		defer s.compactChanges(context.WithoutCancel(ctx), f.ProjectID)
	}
	key := filterKey(f)
	p, ok := s.lists.get(key, gen)
	if !ok {
		if p, err = plan(ctx, tx, f); err != nil {
			return page, err
		}
		s.lists.put(key, gen, p)
	}
	page.Total = p.total
	if p.empty || int64(f.Offset) >= p.total {
		return page, nil
	}

	q := query{args: append([]any{}, p.args...)}
	cond := p.where
	skip := f.Offset
	if at, mark, ok := s.lists.bookmark(key, gen, f.Offset); ok {
		// Rows from the bookmark on, in list order: (time, id) at or below it.
		cond += " AND (i.latest_update_time, i.id) <= (" + q.arg(mark.time) + ", " + q.arg(mark.id) + ")"
		skip = f.Offset - at
	}
	limit, offset := q.arg(f.Limit), q.arg(skip)
	rows, err := tx.Query(ctx, `SELECT `+imageCols+`
		FROM (SELECT i.id FROM images i WHERE `+cond+`
		      ORDER BY i.latest_update_time DESC, i.id DESC LIMIT `+limit+` OFFSET `+offset+`) p
		JOIN images i ON i.id = p.id
		ORDER BY i.latest_update_time DESC, i.id DESC`, q.args...)
	if err != nil {
		return page, fmt.Errorf("postgres: list images: %w", err)
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	for rows.Next() {
		img, err := scanImage(rows, now)
		if err != nil {
			return page, fmt.Errorf("postgres: list images: %w", err)
		}
		page.Images = append(page.Images, img)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("postgres: list images: %w", err)
	}
	if len(page.Images) > 0 && f.Offset > 0 {
		s.lists.mark(key, gen, f.Offset, bookmark{page.Images[0].LatestUpdateTime, page.Images[0].ID})
	}
	return page, nil
}

// maxChangeRows is how many images_changes rows a project may gather before
// a list compacts them into one.
const maxChangeRows = 128

// compactChanges replaces a project's images_changes rows by one row of
// their summed weight, in one transaction, so the generation (the sum) is
// unchanged in every snapshot. Best effort: one compactor per project at a
// time (the others skip), and a failure only leaves the rows for next time.
func (s *Store) compactChanges(ctx context.Context, projectID string) {
	_ = s.inTx(ctx, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockKey("openhss-compact:"+projectID)).Scan(&locked); err != nil || !locked {
			return fmt.Errorf("postgres: compact changes: not locked (%v)", err)
		}
		_, err := tx.Exec(ctx, `WITH d AS (DELETE FROM images_changes WHERE project_id = $1 RETURNING weight)
			INSERT INTO images_changes (project_id, weight) SELECT $1, sum(weight) FROM d HAVING count(*) > 0`, projectID)
		return err
	})
}

// filterStorable reports whether every string of f could occur in the
// database (see storable).
func filterStorable(f inventory.Filter) bool {
	for _, v := range []string{f.ProjectID, string(f.Type), f.Namespace, f.ImageName, f.ImageVersion, f.InstanceName,
		f.InstanceID, string(f.ScanStatus)} {
		if !storable(v) {
			return false
		}
	}
	for _, ep := range f.EnterpriseProjects {
		if !storable(ep) {
			return false
		}
	}
	return true
}

// query accumulates positional arguments.
type query struct{ args []any }

// arg adds v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// in is "= $n" for one value, "= ANY($n)" for several.
func (q *query) in(vs []string) string {
	if len(vs) == 1 {
		return " = " + q.arg(vs[0])
	}
	return " = ANY(" + q.arg(vs) + "::text[])"
}

// filterKey identifies the rows f selects (paging aside).
func filterKey(f inventory.Filter) string {
	var b strings.Builder
	str := func(v string) { b.WriteString(strconv.Quote(v)); b.WriteByte(',') }
	ptr := func(v *int64) {
		if v == nil {
			b.WriteString("-,")
			return
		}
		b.WriteString(strconv.FormatInt(*v, 10) + ",")
	}
	flag := func(v *bool) {
		switch {
		case v == nil:
			b.WriteString("-,")
		case *v:
			b.WriteString("t,")
		default:
			b.WriteString("f,")
		}
	}
	str(f.ProjectID)
	str(string(f.Type))
	if f.EnterpriseProjects == nil {
		b.WriteString("*,")
	} else {
		b.WriteString(strconv.Itoa(len(f.EnterpriseProjects)) + "[")
		for _, ep := range f.EnterpriseProjects {
			str(ep)
		}
		b.WriteString("],")
	}
	for _, v := range []string{f.Namespace, f.ImageName, f.ImageVersion, f.InstanceName, f.InstanceID, string(f.ScanStatus)} {
		str(v)
	}
	b.WriteString(strconv.FormatBool(f.LatestVersionOnly) + ",")
	for _, v := range []*int64{f.MaxImageSize, f.StartLatestUpdateTime, f.EndLatestUpdateTime, f.StartLatestScanTime, f.EndLatestScanTime} {
		ptr(v)
	}
	for _, v := range []*bool{f.HasVul, f.HasUnsafeSetting, f.HasMaliciousFile} {
		flag(v)
	}
	return b.String()
}

// listPlan is the translated filter: a WHERE clause over images aliased i,
// its arguments, and the total it selects.
type listPlan struct {
	where string
	args  []any
	total int64
	empty bool // no row can match
}

// plan translates f and counts its rows, as the SQLite store does:
// namespace and image name substrings are first resolved against
// image_repos into the exact values that match, so that one namespace or
// repository walks images_ns / images_repo in list order; a filter on
// nothing but type, namespace, name and enterprise project is counted from
// image_repos without touching images. Substring tests are strpos(), which
// is literal and case-sensitive (LIKE would treat % and _ specially).
func plan(ctx context.Context, tx pgx.Tx, f inventory.Filter) (listPlan, error) {
	var (
		p     listPlan
		q     query
		conds []string
	)
	add := func(cond string) { conds = append(conds, cond) }
	add("i.project_id = " + q.arg(f.ProjectID))
	add("i.image_type = " + q.arg(string(f.Type)))
	if f.EnterpriseProjects != nil {
		add("i.enterprise_project_id" + q.in(f.EnterpriseProjects))
	}
	repoRows := int64(-1) // rows of the resolved repositories, when resolved
	if f.Namespace != "" || f.ImageName != "" {
		r, err := resolveRepos(ctx, tx, f)
		if err != nil {
			return p, err
		}
		if len(r.namespaces) == 0 {
			p.empty = true
			return p, nil
		}
		repoRows = r.rows
		// Equality on one namespace (and one name) keeps the walk in list
		// order; lists of values need a sort, affordable only for few rows.
		exact := (len(r.namespaces) == 1 && len(r.names) <= 1) || r.rows <= maxSortRows
		if exact || len(r.namespaces) == 1 {
			add("i.namespace" + q.in(r.namespaces))
		} else if f.Namespace != "" {
			add("strpos(i.namespace, " + q.arg(f.Namespace) + ") > 0")
		}
		switch {
		case f.ImageName == "":
		case exact:
			add("i.name" + q.in(r.names))
		default:
			add("strpos(i.name, " + q.arg(f.ImageName) + ") > 0")
		}
	}
	onlyRepoConds := true
	other := func(cond string) {
		onlyRepoConds = false
		add(cond)
	}
	if f.ImageVersion != "" {
		other("strpos(i.tag, " + q.arg(f.ImageVersion) + ") > 0")
	}
	if f.InstanceName != "" {
		other("strpos(i.instance_name, " + q.arg(f.InstanceName) + ") > 0")
	}
	if f.InstanceID != "" {
		other("i.instance_id = " + q.arg(f.InstanceID))
	}
	// Literal conditions (not parameters) where a partial index's WHERE
	// must match the query's for the planner to use it.
	if f.LatestVersionOnly {
		other("i.latest_version")
	}
	if f.ScanStatus != "" {
		other("i.scan_status = " + q.arg(string(f.ScanStatus)))
	}
	if f.MaxImageSize != nil {
		other("i.image_size <= " + q.arg(*f.MaxImageSize))
	}
	if f.StartLatestUpdateTime != nil {
		other("i.latest_update_time >= " + q.arg(*f.StartLatestUpdateTime))
	}
	if f.EndLatestUpdateTime != nil {
		other("i.latest_update_time <= " + q.arg(*f.EndLatestUpdateTime))
	}
	if f.StartLatestScanTime != nil || f.EndLatestScanTime != nil {
		other("i.latest_scan_time > 0") // never scanned: outside any range
	}
	if f.StartLatestScanTime != nil {
		other("i.latest_scan_time >= " + q.arg(*f.StartLatestScanTime))
	}
	if f.EndLatestScanTime != nil {
		other("i.latest_scan_time <= " + q.arg(*f.EndLatestScanTime))
	}
	countCond := func(b *bool, col string) {
		switch {
		case b == nil:
		case *b:
			other("i." + col + " > 0")
		default:
			other("i.scan_status = 'success' AND i." + col + " = 0")
		}
	}
	countCond(f.HasVul, "vul_num")
	countCond(f.HasUnsafeSetting, "unsafe_setting_num")
	countCond(f.HasMaliciousFile, "malicious_file_num")
	p.where = strings.Join(conds, " AND ")
	p.args = q.args

	switch {
	case onlyRepoConds && repoRows >= 0:
		p.total = repoRows
	case onlyRepoConds:
		var c query
		sql := `SELECT coalesce(sum(rows), 0)::int8 FROM image_repos WHERE project_id = ` + c.arg(f.ProjectID) +
			` AND image_type = ` + c.arg(string(f.Type))
		if f.EnterpriseProjects != nil {
			sql += " AND enterprise_project_id" + c.in(f.EnterpriseProjects)
		}
		if err := tx.QueryRow(ctx, sql, c.args...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("postgres: count images: %w", err)
		}
	default:
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM images i WHERE `+p.where, p.args...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("postgres: count images: %w", err)
		}
	}
	return p, nil
}

// maxSortRows bounds the rows of the repositories a substring resolved to
// that the page query may sort; past it, walking the list's own index in
// order and testing strpos() on the covered namespace and name is cheaper.
const maxSortRows = 5000

type resolved struct {
	namespaces, names []string
	rows              int64
}

// resolveRepos returns the distinct namespaces and names of the project's
// repositories of f.Type (in f.EnterpriseProjects, when not nil) matching
// f's namespace and image name substrings, and how many rows those
// repositories hold.
func resolveRepos(ctx context.Context, tx pgx.Tx, f inventory.Filter) (resolved, error) {
	var (
		r resolved
		q query
	)
	sql := `SELECT namespace, name, sum(rows)::int8 FROM image_repos
		WHERE project_id = ` + q.arg(f.ProjectID) + ` AND image_type = ` + q.arg(string(f.Type)) +
		` AND strpos(namespace, ` + q.arg(f.Namespace) + `) > 0 AND strpos(name, ` + q.arg(f.ImageName) + `) > 0`
	if f.EnterpriseProjects != nil {
		sql += " AND enterprise_project_id" + q.in(f.EnterpriseProjects)
	}
	sql += " GROUP BY namespace, name"
	rows, err := tx.Query(ctx, sql, q.args...)
	if err != nil {
		return r, fmt.Errorf("postgres: resolve repositories: %w", err)
	}
	defer rows.Close()
	seenNS, seenName := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var (
			ns, name string
			n        int64
		)
		if err := rows.Scan(&ns, &name, &n); err != nil {
			return r, fmt.Errorf("postgres: resolve repositories: %w", err)
		}
		r.rows += n
		if !seenNS[ns] {
			seenNS[ns] = true
			r.namespaces = append(r.namespaces, ns)
		}
		if !seenName[name] {
			seenName[name] = true
			r.names = append(r.names, name)
		}
	}
	return r, rows.Err()
}

// listCache remembers, per filter, the translated query, its total and
// bookmarks into its order. Counting a million rows is the one expensive
// part of a list request, and clients page through the same filter again and
// again.
//
// An entry is valid only for the images generation it was computed at:
// the generation grows with every committed insert, update and delete of
// images, inside the writing transaction, by any process, and a list reads
// the generation in the same snapshot as the rows. So nothing cached is ever
// served for data it was not computed on. The cache is bounded: when full it
// is emptied (entries are cheap to recompute once).
type listCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*listEntry
}

type listEntry struct {
	gen   int64
	plan  listPlan
	marks map[int]bookmark // offset → sort key of the row at that offset
}

// bookmark is the sort key of one row.
type bookmark struct{ time, id int64 }

// maxMarks bounds the bookmarks kept per filter.
const maxMarks = 256

func newListCache(max int) *listCache {
	return &listCache{max: max, entries: map[string]*listEntry{}}
}

func (c *listCache) get(key string, gen int64) (listPlan, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return listPlan{}, false
	}
	return e.plan, true
}

func (c *listCache) put(key string, gen int64, p listPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.gen > gen {
		return // a newer snapshot already planned
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = &listEntry{gen: gen, plan: p}
}

// bookmark returns the greatest bookmarked offset at or below offset.
func (c *listCache) bookmark(key string, gen int64, offset int) (int, bookmark, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return 0, bookmark{}, false
	}
	best, found := -1, false
	for at := range e.marks {
		if at <= offset && at > best {
			best, found = at, true
		}
	}
	if !found {
		return 0, bookmark{}, false
	}
	return best, e.marks[best], true
}

func (c *listCache) mark(key string, gen int64, offset int, b bookmark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return
	}
	if e.marks == nil || len(e.marks) >= maxMarks {
		e.marks = map[int]bookmark{}
	}
	e.marks[offset] = b
}
