package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// ListImages returns one page of rows matching f and the count of all of
// them. The page, the count and the generation they are cached under come
// from one snapshot.
//
// The page is one statement: an inner SELECT of ids walks the index matching
// the filter in (latest_update_time DESC, id DESC) order and applies
// OFFSET/LIMIT on index entries only; the outer SELECT reads the at most
// Limit rows and their multi-arch members.
//
// Three things are cached per filter and images generation (see listCache):
// the total; bookmarks — the sort key of the first row of each page served —
// so that a later request at or after that offset seeks to the bookmark
// through the index instead of stepping over every row before it; and the
// pages served, so that clients polling the same page cost one read of the
// generation.
func (s *Store) ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error) {
	page := inventory.Page{Images: []inventory.Image{}}
	if f.EnterpriseProjects != nil && len(f.EnterpriseProjects) == 0 {
		return page, nil // granted no enterprise project: nothing to see
	}
	if f.Limit <= 0 {
		f.Limit = 10
	}
	f.Offset = max(f.Offset, 0)
	key := filterKey(f)

	// Served before at the current generation: one statement outside a
	// transaction is a snapshot of its own, and what was cached at that
	// generation is what the tables still hold.
	var gen int64
	if err := s.reads.queryRow(ctx, genQuery).Scan(&gen); err != nil {
		return page, fmt.Errorf("sqlite: list images: %w", err)
	}
	if total, imgs, ok := s.lists.served(key, gen, f.Offset, f.Limit); ok {
		page.Total = total
		if imgs != nil {
			page.Images = imgs
		}
		return page, nil
	}

	page, err := s.listInTx(ctx, f, key)
	// Statements the transaction ran unprepared, now that it holds no
	// connection (see stmtCache).
	s.reads.prepareMissed(ctx)
	return page, err
}

// listInTx is ListImages in one read transaction.
func (s *Store) listInTx(ctx context.Context, f inventory.Filter, key string) (inventory.Page, error) {
	page := inventory.Page{Images: []inventory.Image{}}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, fmt.Errorf("sqlite: list images: %w", err)
	}
	defer tx.Rollback()

	var gen int64
	if err := s.reads.txQueryRow(ctx, tx, genQuery).Scan(&gen); err != nil {
		return page, fmt.Errorf("sqlite: list images: %w", err)
	}
	p, ok := s.lists.get(key, gen)
	if !ok {
		if p, err = s.plan(ctx, tx, f); err != nil {
			return page, err
		}
		s.lists.put(key, gen, p)
	}
	page.Total = p.total
	if p.empty || int64(f.Offset) >= p.total {
		return page, nil
	}

	args := append([]any{}, p.args...)
	cond := p.where
	skip := f.Offset
	if at, mark, ok := s.lists.bookmark(key, gen, f.Offset); ok {
		// Rows from the bookmark on, in list order: (time, id) at or below it.
		cond += " AND (i.latest_update_time, i.id) <= (?, ?)"
		args = append(args, mark.time, mark.id)
		skip = f.Offset - at
	}
	args = append(args, f.Limit, skip)
	rows, err := s.reads.txQuery(ctx, tx, `SELECT `+imageCols+`
		FROM (SELECT i.id FROM images i WHERE `+cond+`
		      ORDER BY i.latest_update_time DESC, i.id DESC LIMIT ? OFFSET ?) p
		JOIN images i ON i.id = p.id
		ORDER BY i.latest_update_time DESC, i.id DESC`, args...)
	if err != nil {
		return page, fmt.Errorf("sqlite: list images: %w", err)
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	for rows.Next() {
		img, err := scanImage(rows, now)
		if err != nil {
			return page, fmt.Errorf("sqlite: list images: %w", err)
		}
		page.Images = append(page.Images, img)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("sqlite: list images: %w", err)
	}
	if len(page.Images) > 0 && f.Offset > 0 {
		s.lists.mark(key, gen, f.Offset, bookmark{page.Images[0].LatestUpdateTime, page.Images[0].ID})
	}
	s.lists.putPage(key, gen, f.Offset, f.Limit, page.Images)
	return page, nil
}

// genQuery reads the images generation (see listCache).
const genQuery = `SELECT gen FROM images_gen WHERE one = 1`

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

// plan translates f and counts its rows.
//
// Substring filters on namespace and image name are first resolved against
// image_repos (one row per repository) into the exact values that match: a
// single namespace or repository becomes an equality that walks images_ns /
// images_repo in list order; a few become IN lists; many stay instr()
// conditions over images_list, where matches are dense.
//
// A filter on nothing but type, namespace, name and enterprise project is
// counted from image_repos too, without touching images.
func (s *Store) plan(ctx context.Context, tx *sql.Tx, f inventory.Filter) (listPlan, error) {
	var (
		p     listPlan
		conds []string
	)
	add := func(cond string, args ...any) {
		conds = append(conds, cond)
		p.args = append(p.args, args...)
	}
	add("i.project_id = ?", f.ProjectID)
	add("i.image_type = ?", string(f.Type))
	var eps []any
	if f.EnterpriseProjects != nil {
		for _, ep := range f.EnterpriseProjects {
			eps = append(eps, ep)
		}
		add("i.enterprise_project_id"+inList(len(eps)), eps...)
	}
	repoRows := int64(-1) // rows of the resolved repositories, when resolved
	if f.Namespace != "" || f.ImageName != "" {
		r, err := s.resolveRepos(ctx, tx, f, eps)
		if err != nil {
			return p, err
		}
		if len(r.namespaces) == 0 {
			p.empty = true
			return p, nil
		}
		repoRows = r.rows
		// Equality on one namespace (and one name) keeps the walk in list
		// order; IN lists need a sort, affordable only for few rows.
		exact := (len(r.namespaces) == 1 && len(r.names) <= 1) || r.rows <= maxSortRows
		if exact || len(r.namespaces) == 1 {
			add("i.namespace"+inList(len(r.namespaces)), r.namespaces...)
		} else if f.Namespace != "" {
			add("instr(i.namespace, ?) > 0", f.Namespace)
		}
		switch {
		case f.ImageName == "":
		case exact:
			add("i.name"+inList(len(r.names)), r.names...)
		default:
			add("instr(i.name, ?) > 0", f.ImageName)
		}
	}
	onlyRepoConds := true
	other := func(cond string, args ...any) {
		onlyRepoConds = false
		add(cond, args...)
	}
	if f.ImageVersion != "" {
		other("instr(i.tag, ?) > 0", f.ImageVersion)
	}
	if f.InstanceName != "" {
		other("instr(i.instance_name, ?) > 0", f.InstanceName)
	}
	if f.InstanceID != "" {
		other("i.instance_id = ?", f.InstanceID)
	}
	// Literal constants (not parameters) where a partial index's WHERE must
	// match the query's for the planner to use it.
	if f.LatestVersionOnly {
		other("i.latest_version = 1")
	}
	if f.ScanStatus != "" {
		other("i.scan_status = ?", string(f.ScanStatus))
	}
	if f.MaxImageSize != nil {
		other("i.image_size <= ?", *f.MaxImageSize)
	}
	if f.StartLatestUpdateTime != nil {
		other("i.latest_update_time >= ?", *f.StartLatestUpdateTime)
	}
	if f.EndLatestUpdateTime != nil {
		other("i.latest_update_time <= ?", *f.EndLatestUpdateTime)
	}
	if f.StartLatestScanTime != nil || f.EndLatestScanTime != nil {
		other("i.latest_scan_time > 0") // never scanned: outside any range
	}
	if f.StartLatestScanTime != nil {
		other("i.latest_scan_time >= ?", *f.StartLatestScanTime)
	}
	if f.EndLatestScanTime != nil {
		other("i.latest_scan_time <= ?", *f.EndLatestScanTime)
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

	switch {
	case onlyRepoConds && repoRows >= 0:
		p.total = repoRows
	case onlyRepoConds:
		q := `SELECT coalesce(sum(rows), 0) FROM image_repos WHERE project_id = ? AND image_type = ?`
		args := []any{f.ProjectID, string(f.Type)}
		if eps != nil {
			q += " AND enterprise_project_id" + inList(len(eps))
			args = append(args, eps...)
		}
		if err := s.reads.txQueryRow(ctx, tx, q, args...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("sqlite: count images: %w", err)
		}
	default:
		if err := s.reads.txQueryRow(ctx, tx, `SELECT count(*) FROM images i WHERE `+p.where, p.args...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("sqlite: count images: %w", err)
		}
	}
	return p, nil
}

// maxSortRows bounds the rows of the repositories a substring resolved to
// that the page query may sort; past it, walking the list's own index in
// order and testing instr() on the covered namespace and name is cheaper.
const maxSortRows = 5000

func inList(n int) string {
	if n == 1 {
		return " = ?"
	}
	return " IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

type resolved struct {
	namespaces, names []any
	rows              int64
}

// resolveRepos returns the distinct namespaces and names of the project's
// repositories of f.Type (in eps, when not nil) matching f's namespace and
// image name substrings, and how many rows those repositories hold.
func (s *Store) resolveRepos(ctx context.Context, tx *sql.Tx, f inventory.Filter, eps []any) (resolved, error) {
	var r resolved
	q := `SELECT namespace, name, rows FROM image_repos
		WHERE project_id = ? AND image_type = ? AND instr(namespace, ?) > 0 AND instr(name, ?) > 0`
	args := []any{f.ProjectID, string(f.Type), f.Namespace, f.ImageName}
	if eps != nil {
		q += " AND enterprise_project_id" + inList(len(eps))
		args = append(args, eps...)
	}
	rows, err := s.reads.txQuery(ctx, tx, q, args...)
	if err != nil {
		return r, fmt.Errorf("sqlite: resolve repositories: %w", err)
	}
	defer rows.Close()
	seenNS, seenName := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var (
			ns, name string
			n        int64
		)
		if err := rows.Scan(&ns, &name, &n); err != nil {
			return r, fmt.Errorf("sqlite: resolve repositories: %w", err)
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

// listCache remembers, per filter, the translated query, its total,
// bookmarks into its order and the pages served. Counting a million rows is
// the one expensive part of a list request, and clients page through the
// same filter, or poll the same page, again and again.
//
// An entry is valid only for the images generation it was computed at:
// images_gen is bumped by a trigger on every insert, update and delete of
// images, inside the writing transaction, by any process, and a list reads
// the generation in the same snapshot as the rows. So nothing cached is ever
// served for data it was not computed on. The cache is bounded: when full it
// is emptied (entries are cheap to recompute once).
type listCache struct {
	mu        sync.RWMutex // read-locked on the hot path, by every request
	max       int
	entries   map[string]*listEntry
	pageRows  int // rows held in pages, over all entries
	pageLimit int
}

type listEntry struct {
	gen   int64
	plan  listPlan
	marks map[int]bookmark // offset → sort key of the row at that offset
	pages map[pageKey][]inventory.Image
}

type pageKey struct{ offset, limit int }

// bookmark is the sort key of one row.
type bookmark struct{ time, id int64 }

const (
	// maxMarks bounds the bookmarks kept per filter.
	maxMarks = 256
	// maxPageRows bounds the rows kept in cached pages over all filters:
	// about a kilobyte each.
	maxPageRows = 20_000
)

func newListCache(max int) *listCache {
	return &listCache{max: max, entries: map[string]*listEntry{}, pageLimit: maxPageRows}
}

func (c *listCache) get(key string, gen int64) (listPlan, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return listPlan{}, false
	}
	return e.plan, true
}

func (c *listCache) put(key string, gen int64, p listPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		if e.gen > gen {
			return // a newer snapshot already planned
		}
		c.pageRows -= pageRows(e.pages)
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
		c.pageRows = 0
	}
	c.entries[key] = &listEntry{gen: gen, plan: p}
}

// bookmark returns the greatest bookmarked offset at or below offset.
func (c *listCache) bookmark(key string, gen int64, offset int) (int, bookmark, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
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

// served returns the total and a copy of the page at offset and limit when
// both are cached for gen; past the end the page is nil.
func (c *listCache) served(key string, gen int64, offset, limit int) (int64, []inventory.Image, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return 0, nil, false
	}
	if e.plan.empty || int64(offset) >= e.plan.total {
		return e.plan.total, nil, true
	}
	imgs, ok := e.pages[pageKey{offset, limit}]
	if !ok {
		return 0, nil, false
	}
	return e.plan.total, slices.Clone(imgs), true
}

// putPage caches a page read at gen, unless something in it depends on more
// than the images rows: the shared status of a shared image changes with
// the clock, and the members of a multi-arch image come from index_members
// and manifests, whose changes do not bump the generation.
func (c *listCache) putPage(key string, gen int64, offset, limit int, imgs []inventory.Image) {
	for _, img := range imgs {
		if img.SharedStatus != "" || img.Associations != nil {
			return
		}
	}
	if len(imgs) > c.pageLimit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return
	}
	if c.pageRows+len(imgs) > c.pageLimit {
		for _, e := range c.entries {
			e.pages = nil
		}
		c.pageRows = 0
	}
	if e.pages == nil {
		e.pages = map[pageKey][]inventory.Image{}
	}
	k := pageKey{offset, limit}
	c.pageRows += len(imgs) - len(e.pages[k])
	e.pages[k] = slices.Clone(imgs)
}

func pageRows(pages map[pageKey][]inventory.Image) int {
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	return n
}
