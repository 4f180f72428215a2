package sqlstore

import (
	"context"
	"database/sql"
	"slices"
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
// generation. The generation is the engine's (Dialect.listGeneration).
//
// Without a bookmark (always so right after a write) a deep page of a
// filter image_counts answers starts from the day holding its first row
// (dayJump over image_time_counts, or image_scan_counts in the scan-time
// orders) and steps over that day's rows only.
func (s *Store) ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error) {
	page := inventory.Page{Images: []inventory.Image{}}
	if !s.canMatch(f) {
		return page, nil
	}
	if f.Limit <= 0 {
		f.Limit = 10
	}
	f.Offset = max(f.Offset, 0)
	key := Key(f)

	// Served before at the current generation: one statement outside a
	// transaction is a snapshot of its own, and what was cached at that
	// generation is what the tables still hold.
	genQuery, genArgs := s.d.listGeneration(f.ProjectID)
	var gen, changes int64
	if err := s.queryRow(ctx, genQuery, genArgs...).Scan(&gen, &changes); err != nil {
		return page, s.errf("list images: %w", err)
	}
	if RegistryDependent(f) {
		// Not cached: see RegistryDependent.
	} else if total, imgs, ok := s.lists.served(key, gen, f.Offset, f.Limit); ok {
		page.Total = total
		if imgs != nil {
			page.Images = imgs
		}
		return page, nil
	}

	page, changes, err := s.listInTx(ctx, f, key)
	// Only now, with the list's transaction ended and its connection back
	// in the pool, the work that takes a connection of its own: a list that
	// held one while waiting for another deadlocked the pool once as many
	// lists ran at once as it has connections.
	if s.stmts != nil {
		// Statements the transaction ran unprepared (see StmtCache).
		s.stmts.PrepareMissed(ctx)
	}
	if s.d == Postgres && err == nil && changes > MaxChangeRows {
		// Started by a reader rather than by writers so that a write
		// never does a reader's housekeeping in its own transaction; in
		// the background, one at a time, so that no list answers late
		// for it (it took the p99 of the console's Overview past 100 ms:
		// docs/benchmarks.md, Web console). Wait waits for it.
		// WithoutCancel: a caller gone after its answer should not leave
		// the work half done; the timeout bounds it all the same. Best
		// effort: a failure only leaves the rows for next time.
		s.goBackground(func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compactTimeout)
			defer cancel()
			_ = s.inTx(cctx, func(tx *sql.Tx) error { return compactChanges(cctx, tx, f.ProjectID) })
		})
	}
	return page, err
}

// canMatch reports whether any row can match f: not when it grants no
// enterprise project, nor when it holds a string the engine cannot store
// (no stored string contains it).
func (s *Store) canMatch(f inventory.Filter) bool {
	return (f.EnterpriseProjects == nil || len(f.EnterpriseProjects) > 0) &&
		s.storable(append([]string{f.ProjectID, string(f.Type), f.Namespace, f.ImageName, f.ImageVersion, f.InstanceName,
			f.InstanceID, string(f.ScanStatus), f.RegistryName, f.SeverityLevel}, f.EnterpriseProjects...)...)
}

// MaxChangeRows is how many generation rows (PostgreSQL's images_changes,
// see Dialect.listGeneration) a project may gather before a list compacts
// them (compactChanges).
const MaxChangeRows = 128

// compactTimeout bounds a compaction, the wait for its connection
// included.
const compactTimeout = 10 * time.Second

// listInTx is ListImages in one read transaction (REPEATABLE READ where
// the engine knows levels: one snapshot for the generation, the count and
// the page); changes is the generation's row count (see MaxChangeRows).
func (s *Store) listInTx(ctx context.Context, f inventory.Filter, key string) (_ inventory.Page, changes int64, _ error) {
	page := inventory.Page{Images: []inventory.Image{}}
	tx, err := s.snapshot(ctx)
	if err != nil {
		return page, 0, s.errf("list images: %w", err)
	}
	defer tx.Rollback()

	genQuery, genArgs := s.d.listGeneration(f.ProjectID)
	var gen int64
	if err := s.txQueryRow(ctx, tx, genQuery, genArgs...).Scan(&gen, &changes); err != nil {
		return page, 0, s.errf("list images: %w", err)
	}
	cached := !RegistryDependent(f)
	var (
		p  listPlan
		ok bool
	)
	if cached {
		p, ok = s.lists.get(key, gen)
	}
	if !ok {
		if p, err = s.plan(ctx, tx, f); err != nil {
			return page, changes, err
		}
		if cached {
			s.lists.put(key, gen, p)
		}
	}
	// Bookmarks are keys in the default order only.
	marked := cached && !f.SortByScanTime
	page.Total = p.total
	if p.empty || int64(f.Offset) >= p.total {
		return page, changes, nil
	}

	var from *SortKey
	skip := f.Offset
	if at, mark, ok := s.lists.bookmark(key, gen, f.Offset); ok && marked {
		from, skip = &mark, f.Offset-at
	} else if p.countable && f.Offset >= MinJumpOffset {
		// No bookmark (always so right after a write, and never in
		// ListRegistryImages' scan-time orders): start from the day
		// holding the first row, summed from image_time_counts, or
		// image_scan_counts in the scan-time orders.
		day, before, ok, err := s.dayJump(ctx, tx, Order(f), p.countWhere, p.countArgs, f.Offset)
		if err != nil {
			return page, changes, err
		}
		// In the first day (also the never-scanned rows, first in the
		// ascending scan-time order) a key would skip no row: the page
		// walks from the start as without it.
		if ok && before > 0 {
			from, skip = &day, f.Offset-int(before)
		}
	}
	q, args := imagePage(s.d, s.d.ImageCols(), p.where, p.args, from, f.Limit, skip, Order(f))
	now := time.Now().UnixMilli()
	page.Images, err = queryAll(ctx, cachedTx{s, tx}, func(r rowScanner) (inventory.Image, error) { return ScanImage(r, now) },
		q, args...)
	if err != nil {
		return page, changes, s.errf("list images: %w", err)
	}
	if marked && len(page.Images) > 0 && f.Offset > 0 {
		s.lists.mark(key, gen, f.Offset, SortKey{Time: page.Images[0].LatestUpdateTime, ID: page.Images[0].ID})
	}
	if cached {
		s.lists.putPage(key, gen, f.Offset, f.Limit, page.Images)
	}
	return page, changes, nil
}

// listPlan is the translated filter: a WHERE clause over images aliased i,
// its arguments, and the total it selects.
type listPlan struct {
	where string
	args  []any
	total int64
	empty bool // no row can match
	// countable: image_counts answers the filter, under countWhere
	// (with countArgs), and image_time_counts and image_scan_counts the
	// rows per day.
	countable  bool
	countWhere string
	countArgs  []any
}

// plan translates f (see imageWhere) and counts its rows, without touching
// images where it can: a filter whose namespace and name substrings were
// resolved and that has no other condition from image_repos (one row per
// repository, per connection on PostgreSQL); one whose conditions
// image_counts keeps apart (type, enterprise project, status, finding
// flags, latest version, severity, connection; see countWhere) from
// image_counts; any other counts images. Conditions on
// the owning connection are first resolved to connection ids.
func (s *Store) plan(ctx context.Context, tx *sql.Tx, f inventory.Filter) (listPlan, error) {
	var regIDs []int64
	if RegistryDependent(f) && (f.RegistryTypes == nil || len(f.RegistryTypes) > 0) {
		ids, err := s.resolveRegistries(ctx, tx, f)
		if err != nil {
			return listPlan{}, err
		}
		if len(ids) == 0 {
			return listPlan{empty: true}, nil
		}
		regIDs = ids
	}
	w, err := imageWhereRegs(s.d, f, func() (Repos, error) { return s.resolveRepos(ctx, tx, f) }, regIDs)
	if err != nil || w.Empty {
		return listPlan{empty: w.Empty}, err
	}
	p := listPlan{where: w.Where, args: w.Args}
	cw, cargs, countable := countWhere(s.d, f, regIDs)
	switch {
	case w.ReposOnly && w.Resolved:
		p.total = w.Repos.Rows
	case countable:
		// Also a filter on type and enterprise project alone: image_counts
		// holds a few hundred rows per connection, image_repos one per
		// repository (10^4 in the bench).
		p.countable, p.countWhere, p.countArgs = true, cw, cargs
		p.total, err = s.countFromCounts(ctx, tx, cw, cargs)
		return p, err
	default:
		if err := s.txQueryRow(ctx, tx, `SELECT count(*) FROM images i WHERE `+p.where, p.args...).Scan(&p.total); err != nil {
			return p, s.errf("count images: %w", err)
		}
	}
	return p, nil
}

// resolveRepos resolves f's namespace and image name substrings against
// the project's repositories of f.Type (in f.EnterpriseProjects, when not
// nil); Repos sums a repository's rows over its image_repos rows. A
// namespace alone is resolved against image_namespaces: a project's tens
// of namespaces, not its thousands of repositories, whose pages a first
// call reads cold (docs/benchmarks.md, Namespace table).
func (s *Store) resolveRepos(ctx context.Context, tx *sql.Tx, f inventory.Filter) (Repos, error) {
	var r Repos
	b := RepoFilter(s.d, f)
	from := `SELECT namespace, name, rows FROM image_repos`
	if f.ImageName == "" {
		from = `SELECT namespace, '', rows FROM image_namespaces`
	}
	err := queryEach(ctx, cachedTx{s, tx}, func(row rowScanner) error {
		var (
			ns, name string
			n        int64
		)
		err := row.Scan(&ns, &name, &n)
		r.Add(ns, name, n)
		return err
	}, from+` WHERE `+b.SQL(), b.Args()...)
	return r, s.wrap(err, "resolve repositories")
}

// listCache remembers, per filter, the translated query, its total,
// bookmarks into its order and the pages served, for the images generation
// they were read at (see genCache: a list reads the generation in the same
// snapshot as the rows). Counting a million rows is the one expensive part
// of a list request, and clients page through the same filter, or poll the
// same page, again and again. Bounded in filters as genCache is, and in the
// rows of the pages it holds by maxPageRows.
type listCache struct {
	// Its mu guards the entries' marks and pages too.
	*genCache[listEntry]
	pageRows  int // rows held in pages, over all entries
	pageLimit int
}

type listEntry struct {
	plan  listPlan
	marks Marks
	pages map[pageKey][]inventory.Image
}

type pageKey struct{ offset, limit int }

// maxPageRows bounds the rows kept in cached pages over all filters: about
// a kilobyte each.
const maxPageRows = 20_000

func newListCache(max int) *listCache {
	return &listCache{genCache: newGenCache[listEntry](max), pageLimit: maxPageRows}
}

func (c *listCache) get(key string, gen int64) (listPlan, bool) {
	e, ok := c.genCache.get(key, gen)
	return e.plan, ok
}

func (c *listCache) put(key string, gen int64, p listPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	replaced, emptied := c.set(key, gen, listEntry{plan: p})
	switch {
	case emptied:
		c.pageRows = 0
	case replaced != nil:
		c.pageRows -= pageRows(replaced.pages)
	}
}

// bookmark returns the greatest bookmarked offset at or below offset.
func (c *listCache) bookmark(key string, gen int64, offset int) (int, SortKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.at(key, gen)
	if !ok {
		return 0, SortKey{}, false
	}
	return e.marks.Nearest(offset)
}

func (c *listCache) mark(key string, gen int64, offset int, k SortKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.at(key, gen); ok {
		e.marks.Set(offset, k)
	}
}

// served returns the total and a copy of the page at offset and limit when
// both are cached for gen; past the end the page is nil.
func (c *listCache) served(key string, gen int64, offset, limit int) (int64, []inventory.Image, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.at(key, gen)
	if !ok {
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
	e, ok := c.at(key, gen)
	if !ok {
		return
	}
	if c.pageRows+len(imgs) > c.pageLimit {
		for _, e := range c.entries {
			e.val.pages = nil
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
