package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlq"
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
	page, compact, err := s.listImages(ctx, f, page)
	if compact && err == nil {
		// Only now, with the list's transaction ended and its connection
		// back in the pool: compacting takes a connection of its own, and
		// a list that held one while waiting for another deadlocked the
		// pool once as many lists ran at once as it has connections.
		// Done here rather than by writers so that a write never does a
		// reader's housekeeping in its own transaction; done at once
		// rather than in the background so the store has no goroutine to
		// stop. WithoutCancel: a caller gone after its answer should not
		// leave the work half done; the timeout bounds it all the same.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compactTimeout)
		s.compactChanges(cctx, f.ProjectID)
		cancel()
	}
	return page, err
}

// compactTimeout bounds a compaction, the wait for its connection
// included.
const compactTimeout = 10 * time.Second

// listImages is ListImages in its one read transaction; compact reports
// that the project has gathered more than maxChangeRows images_changes
// rows.
func (s *Store) listImages(ctx context.Context, f inventory.Filter, page inventory.Page) (_ inventory.Page, compact bool, _ error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return page, false, fmt.Errorf("postgres: list images: %w", err)
	}
	defer tx.Rollback(ctx)

	var gen, changes int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(weight), 0)::int8, count(*) FROM images_changes WHERE project_id = $1`,
		f.ProjectID).Scan(&gen, &changes); err != nil {
		return page, false, fmt.Errorf("postgres: list images: %w", err)
	}
	compact = changes > maxChangeRows
	key := sqlq.Key(f)
	p, ok := s.lists.get(key, gen)
	if !ok {
		if p, err = plan(ctx, tx, f); err != nil {
			return page, compact, err
		}
		s.lists.put(key, gen, p)
	}
	page.Total = p.total
	if p.empty || int64(f.Offset) >= p.total {
		return page, compact, nil
	}

	var from *sqlq.SortKey
	skip := f.Offset
	if at, mark, ok := s.lists.bookmark(key, gen, f.Offset); ok {
		from, skip = &mark, f.Offset-at
	}
	q, args := sqlq.ImagePage(sqlq.Postgres, imageCols, p.where, p.args, from, f.Limit, skip)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return page, compact, fmt.Errorf("postgres: list images: %w", err)
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	for rows.Next() {
		img, err := scanImage(rows, now)
		if err != nil {
			return page, compact, fmt.Errorf("postgres: list images: %w", err)
		}
		page.Images = append(page.Images, img)
	}
	if err := rows.Err(); err != nil {
		return page, compact, fmt.Errorf("postgres: list images: %w", err)
	}
	if len(page.Images) > 0 && f.Offset > 0 {
		s.lists.mark(key, gen, f.Offset, sqlq.SortKey{Time: page.Images[0].LatestUpdateTime, ID: page.Images[0].ID})
	}
	return page, compact, nil
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

// listPlan is the translated filter: a WHERE clause over images aliased i,
// its arguments, and the total it selects.
type listPlan struct {
	where string
	args  []any
	total int64
	empty bool // no row can match
}

// plan translates f (see sqlq.Images) and counts its rows, as the SQLite
// store does: a filter on nothing but type, namespace, name and enterprise
// project is counted from image_repos without touching images.
func plan(ctx context.Context, tx pgx.Tx, f inventory.Filter) (listPlan, error) {
	w, err := sqlq.Images(sqlq.Postgres, f, func() (sqlq.Repos, error) { return resolveRepos(ctx, tx, f) })
	if err != nil || w.Empty {
		return listPlan{empty: w.Empty}, err
	}
	p := listPlan{where: w.Where, args: w.Args}
	switch {
	case w.ReposOnly && w.Resolved:
		p.total = w.Repos.Rows
	case w.ReposOnly:
		b := sqlq.RepoFilter(sqlq.Postgres, f, false)
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(rows), 0)::int8 FROM image_repos WHERE `+b.SQL(), b.Args()...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("postgres: count images: %w", err)
		}
	default:
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM images i WHERE `+p.where, p.args...).Scan(&p.total); err != nil {
			return p, fmt.Errorf("postgres: count images: %w", err)
		}
	}
	return p, nil
}

// resolveRepos resolves f's namespace and image name substrings against
// the project's repositories of f.Type (in f.EnterpriseProjects, when not
// nil). image_repos has a row per connection too: rows are summed over
// them.
func resolveRepos(ctx context.Context, tx pgx.Tx, f inventory.Filter) (sqlq.Repos, error) {
	var r sqlq.Repos
	b := sqlq.RepoFilter(sqlq.Postgres, f, true)
	rows, err := tx.Query(ctx, `SELECT namespace, name, sum(rows)::int8 FROM image_repos
		WHERE `+b.SQL()+" GROUP BY namespace, name", b.Args()...)
	if err != nil {
		return r, fmt.Errorf("postgres: resolve repositories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ns, name string
			n        int64
		)
		if err := rows.Scan(&ns, &name, &n); err != nil {
			return r, fmt.Errorf("postgres: resolve repositories: %w", err)
		}
		r.Add(ns, name, n)
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
	marks sqlq.Marks
}

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
func (c *listCache) bookmark(key string, gen int64, offset int) (int, sqlq.SortKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return 0, sqlq.SortKey{}, false
	}
	return e.marks.Nearest(offset)
}

func (c *listCache) mark(key string, gen int64, offset int, k sqlq.SortKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return
	}
	e.marks.Set(offset, k)
}
