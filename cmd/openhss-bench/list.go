package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// Targets the list benchmark is judged against (docs/benchmarks.md,
// Inventory and list).
const (
	targetSeed      = 60 * time.Second
	targetMedian    = 5 * time.Millisecond
	targetP99       = 20 * time.Millisecond
	targetHTTPRatio = 0.5
	// --uncached: every call follows a write to images, so none is a
	// cache hit (docs/benchmarks.md, Uncached list).
	targetUncachedMedian = 10 * time.Millisecond
	targetUncachedP99    = 50 * time.Millisecond
	benchProject         = "0b5e7c1a9d2f48e6a3c0b1d2e3f40516"
	defaultEnterprise    = inventory.DefaultEnterpriseProject
)

type listOptions struct {
	Rows, Namespaces, Repos int
	Registries              int // registry connections the repositories are spread over

	Iterations, Warmup int
	Limit, DeepOffset  int

	Namespace, ImageName, ScanStatus string
	RegistryName, SeverityLevel      string

	// Filters names the filter sets to measure (filterSet.Key); empty for
	// all.
	Filters []string
	// Postgres: seed and measure a PostgreSQL store at this URL, in a new
	// schema dropped afterwards, instead of a SQLite file; the HTTP phase
	// is SQLite's only and is skipped.
	Postgres string
	// NoHTTP skips the HTTP phase.
	NoHTTP bool
	// Schema, with Postgres: use this schema, created when missing, and
	// keep it afterwards (the console benchmark reuses a seeded one)
	// instead of a new one dropped at the end.
	Schema string

	// Uncached: before every timed call, a write to images (one row's
	// scannable flipped) moves the generation, so no call is served from
	// the store's per-filter caches of totals, pages and bookmarks.
	Uncached bool

	Clients     int
	Duration    time.Duration
	MaxRequests int

	Dir        string    // "" for a temporary directory
	CPUProfile string    // where to write a CPU profile of the openhss HTTP load; "" for none
	Progress   io.Writer // progress lines; nil for none
}

type listReport struct {
	Machine machine `json:"machine"`
	Engine  string  `json:"engine"` // "sqlite" or "postgres"
	Command string  `json:"command"`
	// Uncached: a write to images preceded every call.
	Uncached bool          `json:"uncached"`
	Seed     seedResult    `json:"seed"`
	Queries  []queryResult `json:"queries"`
	HTTP     httpResult    `json:"http"`
}

type seedResult struct {
	Rows       int     `json:"rows"`
	Namespaces int     `json:"namespaces"`
	Repos      int     `json:"repos"`
	Seconds    float64 `json:"seconds"`
	// CPUSeconds is user+system time of this process while seeding: on a
	// busy machine, wall time well above it means waiting for CPU or disk.
	CPUSeconds float64 `json:"cpu_seconds"`
	DBBytes    int64   `json:"db_bytes"` // database file and WAL after seeding
	Met        bool    `json:"met"`
}

// queryResult is one filter set at one offset. First is the first call of
// the process at that filter and offset; the store caches totals and page
// bookmarks per filter, so it is the cost a client pays once, and the
// percentiles what it pays while it pages through the same filter.
type queryResult struct {
	Name     string  `json:"name"`
	Query    string  `json:"query"` // the equivalent API query string
	Offset   int     `json:"offset"`
	Total    int64   `json:"total_num"`
	Returned int     `json:"returned"`
	FirstMs  float64 `json:"first_ms"`
	MedianMs float64 `json:"median_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Calls    int     `json:"calls"`
	Met      bool    `json:"met"` // median and p99 within target
	// Writes made to images between the calls (Uncached): one before
	// each warm-up and timed call.
	Writes int `json:"writes"`
}

// filterSet is one typical list request: image_type=private_image plus at
// most the fields set here.
type filterSet struct {
	Key           string // what --filters names it by
	Name          string
	Namespace     string
	ImageName     string
	ScanStatus    string
	HasVul        bool
	LatestVersion bool

	// ListRegistryImages (GET /image/registries/images): AllTypes leaves
	// image_type out; SortScan is sort_dir of sort_key=latest_scan_time.
	AllTypes bool
	SortScan string // "", "asc" or "desc"
	Risky    bool
	Severity string
	// RegistryName: a substring of the owning connection's name.
	RegistryName string
}

func (o listOptions) filterSets() []filterSet {
	all := []filterSet{
		{Key: "type", Name: "type only"},
		{Key: "namespace", Name: "+ namespace", Namespace: o.Namespace},
		{Key: "image_name", Name: "+ image_name", ImageName: o.ImageName},
		{Key: "has_vul", Name: "+ has_vul=true", HasVul: true},
		{Key: "scan_status", Name: "+ scan_status", ScanStatus: o.ScanStatus},
		{Key: "latest_version", Name: "+ latest_version=true", LatestVersion: true},
		{Key: "all_types", Name: "registry images, every type", AllTypes: true},
		{Key: "scan_asc", Name: "registry images, scan time asc", SortScan: "asc"},
		{Key: "scan_desc", Name: "registry images, scan time desc", SortScan: "desc"},
		{Key: "risky", Name: "registry images, risky=true", Risky: true},
		{Key: "severity", Name: "registry images, severity_level", Severity: o.SeverityLevel},
		{Key: "registry_name", Name: "registry images, registry_name", RegistryName: o.RegistryName},
	}
	if len(o.Filters) == 0 {
		return all
	}
	var some []filterSet
	for _, fs := range all {
		if slices.Contains(o.Filters, fs.Key) {
			some = append(some, fs)
		}
	}
	return some
}

// filterKeys are the names --filters accepts.
func filterKeys() []string {
	var keys []string
	for _, fs := range defaultListOptions().filterSets() {
		keys = append(keys, fs.Key)
	}
	return keys
}

// filter is what the API hands the store for query(): a caller granted every
// enterprise project who names none sees the default one.
func (fs filterSet) filter(offset, limit int) inventory.Filter {
	f := inventory.Filter{
		ProjectID: benchProject, EnterpriseProjects: []string{defaultEnterprise},
		Type:      inventory.PrivateImage,
		Namespace: fs.Namespace, ImageName: fs.ImageName, ScanStatus: inventory.ScanStatus(fs.ScanStatus),
		LatestVersionOnly: fs.LatestVersion,
		Offset:            offset, Limit: limit,
	}
	if fs.HasVul {
		yes := true
		f.HasVul = &yes
	}
	if fs.AllTypes {
		f.Type = ""
	}
	f.SortByScanTime, f.SortDesc = fs.SortScan != "", fs.SortScan == "desc"
	if fs.Risky {
		yes := true
		f.Risky = &yes
	}
	f.SeverityLevel, f.RegistryName = fs.Severity, fs.RegistryName
	return f
}

func (fs filterSet) query() url.Values {
	q := url.Values{"image_type": {string(inventory.PrivateImage)}}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("namespace", fs.Namespace)
	set("image_name", fs.ImageName)
	set("scan_status", fs.ScanStatus)
	if fs.HasVul {
		q.Set("has_vul", "true")
	}
	if fs.LatestVersion {
		q.Set("latest_version", "true")
	}
	if fs.AllTypes {
		q.Del("image_type")
	}
	if fs.SortScan != "" {
		q.Set("sort_key", "latest_scan_time")
		q.Set("sort_dir", fs.SortScan)
	}
	if fs.Risky {
		q.Set("risky", "true")
	}
	set("severity_level", fs.Severity)
	set("registry_name", fs.RegistryName)
	return q
}

func runList(ctx context.Context, o listOptions) (listReport, error) {
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	rep := listReport{Machine: describeMachine(time.Now()), Engine: "sqlite", Uncached: o.Uncached,
		Command: strings.Join(os.Args, " ")}
	if o.Postgres != "" {
		rep.Engine = "postgres"
	}

	dir, cleanup, err := workDir(o.Dir, "openhss-bench-")
	if err != nil {
		return rep, err
	}
	defer cleanup()
	bs, err := openBenchStore(ctx, o, dir)
	if err != nil {
		return rep, err
	}
	defer bs.close()
	st := bs.store

	progress("seeding %d rows (%d namespaces, %d repositories, %d registries) into %s", o.Rows, o.Namespaces, o.Repos,
		max(o.Registries, 1), bs.where)
	spec := benchseed.Spec{ProjectID: benchProject, Rows: o.Rows, Namespaces: o.Namespaces, Repos: o.Repos,
		Registries: o.Registries}
	start, cpu0 := time.Now(), processCPU()
	if _, err := benchseed.Seed(ctx, st, spec, mrand.New(mrand.NewPCG(1, 2))); err != nil {
		return rep, err
	}
	took := time.Since(start)
	rep.Seed = seedResult{Rows: o.Rows, Namespaces: o.Namespaces, Repos: o.Repos,
		Seconds: took.Seconds(), CPUSeconds: (processCPU() - cpu0).Seconds(),
		DBBytes: bs.size(ctx), Met: took <= targetSeed}
	progress("seeded in %.1f s (%.1f s CPU)", took.Seconds(), rep.Seed.CPUSeconds)

	ref, err := bs.reference(ctx)
	if err != nil {
		return rep, err
	}
	defer ref.Close()
	var flip func(context.Context) error
	if o.Uncached {
		if flip, err = scannableFlipper(ctx, st); err != nil {
			return rep, err
		}
	}
	for _, fs := range o.filterSets() {
		for _, offset := range []int{0, o.DeepOffset} {
			r, err := measureList(ctx, st, ref, fs, offset, o, flip)
			if err != nil {
				return rep, err
			}
			progress("list %-32s offset %-7d total %-7d first %.2f ms median %.2f ms p99 %.2f ms", fs.Name, offset, r.Total,
				r.FirstMs, r.MedianMs, r.P99Ms)
			rep.Queries = append(rep.Queries, r)
		}
	}

	if o.NoHTTP || bs.sqlite == nil {
		rep.Machine.LoadEnd = loadAverage()
		return rep, nil
	}
	ns := filterSet{Name: "+ namespace", Namespace: o.Namespace}
	progress("HTTP: %d clients for %v per server on %s", o.Clients, o.Duration, ns.query().Encode())
	setup, err := newHTTPSetup(bs.store)
	if err != nil {
		return rep, err
	}
	rep.HTTP, err = measureHTTP(ctx, setup, ns.query(), o)
	if err != nil {
		return rep, err
	}
	progress("HTTP: openhss %.0f req/s, bare %.0f req/s", rep.HTTP.OpenHSS.RPS, rep.HTTP.Bare.RPS)
	rep.Machine.LoadEnd = loadAverage()
	return rep, nil
}

// benchStore is the store a list benchmark seeds and measures: a SQLite
// file in the run's directory, or with --postgres a new schema of that
// database, dropped at close (the way the store's own tests keep apart
// from everything else on the server).
type benchStore struct {
	store  *sqlstore.Store
	sqlite *sqlite.Store // nil on PostgreSQL
	where  string        // the file or schema, for progress lines
	path   string        // SQLite's file
	dsn    string        // PostgreSQL's URL, search_path set to the schema
	schema string
	close  func()
}

func openBenchStore(ctx context.Context, o listOptions, dir string) (*benchStore, error) {
	if o.Postgres == "" {
		path := filepath.Join(dir, "openhss.db")
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		return &benchStore{store: st.Store, sqlite: st, where: path, path: path, close: func() { st.Close() }}, nil
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	schema, create := "openhss_bench_"+hex.EncodeToString(b), `CREATE SCHEMA `
	if o.Schema != "" {
		schema, create = pgx.Identifier{o.Schema}.Sanitize(), `CREATE SCHEMA IF NOT EXISTS `
	}
	conn, err := pgx.Connect(ctx, o.Postgres)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	drop := func() {
		if o.Schema == "" {
			_, _ = conn.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
		}
		conn.Close(context.WithoutCancel(ctx))
	}
	if _, err := conn.Exec(ctx, create+schema); err != nil {
		drop()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	u, err := url.Parse(o.Postgres)
	if err != nil {
		drop()
		return nil, fmt.Errorf("--postgres: %w", err)
	}
	q := u.Query()
	q.Set("search_path", cmp.Or(o.Schema, schema))
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		drop()
		return nil, err
	}
	return &benchStore{store: st.Store, where: "schema " + schema, dsn: u.String(), schema: cmp.Or(o.Schema, schema),
		close: func() { st.Close(); drop() }}, nil
}

// size is the database's size after seeding: SQLite's file and WAL, the
// schema's relations on PostgreSQL.
func (b *benchStore) size(ctx context.Context) int64 {
	if b.path != "" {
		return fileSize(b.path) + fileSize(b.path+"-wal")
	}
	ref, err := b.reference(ctx)
	if err != nil {
		return 0
	}
	defer ref.Close()
	var n int64
	_ = ref.db.QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r'`, b.schema).Scan(&n)
	return n
}

func (b *benchStore) reference(ctx context.Context) (*reference, error) {
	if b.path != "" {
		return openReference(ctx, b.path)
	}
	return openPostgresReference(ctx, b.dsn)
}

// measureList times ListImages for one filter set at one offset and checks
// the first answer's total and page against the reference.
func measureList(ctx context.Context, st *sqlstore.Store, ref *reference, fs filterSet, offset int, o listOptions,
	flip func(context.Context) error) (queryResult, error) {
	f := fs.filter(offset, o.Limit)
	r := queryResult{Name: fs.Name, Query: fs.query().Encode(), Offset: offset}
	call := func() (inventory.Page, time.Duration, error) {
		if flip != nil { // untimed
			if err := flip(ctx); err != nil {
				return inventory.Page{}, 0, err
			}
			r.Writes++
		}
		start := time.Now()
		p, err := st.ListImages(ctx, f)
		return p, time.Since(start), err
	}
	page, first, err := call()
	if err != nil {
		return r, fmt.Errorf("list %s at offset %d: %w", fs.Name, offset, err)
	}
	if err := ref.check(ctx, fs, offset, o.Limit, page); err != nil {
		return r, fmt.Errorf("list %s (%s) at offset %d: %w", fs.Name, r.Query, offset, err)
	}
	r.Total, r.Returned, r.FirstMs = page.Total, len(page.Images), ms(first)
	r.Writes = 0 // count those around the measured calls only

	for range o.Warmup {
		if _, _, err := call(); err != nil {
			return r, err
		}
	}
	times := make([]time.Duration, 0, o.Iterations)
	for range o.Iterations {
		p, d, err := call()
		if err != nil {
			return r, err
		}
		if p.Total != page.Total || len(p.Images) != len(page.Images) {
			return r, fmt.Errorf("list %s at offset %d: answer changed between calls: %d/%d rows, then %d/%d",
				fs.Name, offset, len(page.Images), page.Total, len(p.Images), p.Total)
		}
		times = append(times, d)
	}
	q := summarize(times)
	r.Calls = len(times)
	r.MedianMs, r.P90Ms, r.P99Ms, r.MaxMs = q.median, q.p90, q.p99, q.max
	median, p99 := listTargets(o.Uncached)
	r.Met = q.median <= ms(median) && q.p99 <= ms(p99)
	return r, nil
}

// scannableFlipper returns a write to images that changes nothing a list
// shows or filters on: each call flips scannable on the rows of one
// manifest, which moves the images generation.
func scannableFlipper(ctx context.Context, st *sqlstore.Store) (func(context.Context) error, error) {
	p, err := st.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(p.Images) == 0 {
		return nil, fmt.Errorf("uncached: no row to write to")
	}
	digest, scannable := p.Images[0].ManifestDigest, p.Images[0].Scannable
	return func(ctx context.Context) error {
		scannable = !scannable
		return st.SetScannable(ctx, benchProject, digest, scannable)
	}, nil
}

// listTargets are the median and p99 a list call is judged against.
func listTargets(uncached bool) (median, p99 time.Duration) {
	if uncached {
		return targetUncachedMedian, targetUncachedP99
	}
	return targetMedian, targetP99
}

type quantiles struct{ median, p90, p95, p99, max float64 }

// summarize returns nearest-rank quantiles in milliseconds.
func summarize(ds []time.Duration) quantiles {
	if len(ds) == 0 {
		return quantiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return quantiles{median: at(0.50), p90: at(0.90), p95: at(0.95), p99: at(0.99), max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
