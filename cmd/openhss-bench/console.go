package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/console"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskrun"
)

// Targets the console benchmark is judged against (docs/benchmarks.md,
// Web console).
const (
	targetConsoleP99    = 100 * time.Millisecond // server time, uncached
	targetConsoleWeight = 150 << 10              // HTML + CSS + JS, uncompressed
	targetConsoleFCP    = 500 * time.Millisecond // headless Chromium on loopback
)

type consoleOptions struct {
	Rows, Namespaces, Repos, Registries int

	Iterations, Warmup int
	// FCPRuns is how many times each page is loaded in the browser.
	FCPRuns int
	// Chromium is the browser's path; "" skips the first contentful paint.
	Chromium string

	// Postgres: a PostgreSQL store at this URL instead of a SQLite file;
	// Schema, with it, a schema to seed once and reuse (kept afterwards).
	Postgres, Schema string
	// Dir holds the SQLite file; a database seeded there before with the
	// same row count is reused. "" for a temporary directory.
	Dir string
	// Paths limits the pages measured to these paths; empty for all.
	Paths []string
	// CPUProfile is where to write a CPU profile of the first page's
	// requests (pick the page with Paths); "" for none.
	CPUProfile string
	Progress   io.Writer
}

func defaultConsoleOptions() consoleOptions {
	return consoleOptions{Rows: 1_000_000, Namespaces: 20, Repos: 10_000, Registries: 4,
		Iterations: 100, Warmup: 5, FCPRuns: 10, Chromium: "/usr/bin/chromium"}
}

type consoleReport struct {
	Machine machine `json:"machine"`
	Engine  string  `json:"engine"`
	Command string  `json:"command"`
	Rows    int     `json:"rows"`
	// Reused: the database held the seeded rows already; SeedSeconds is
	// then 0.
	Reused      bool         `json:"reused"`
	SeedSeconds float64      `json:"seed_seconds"`
	Pages       []pageResult `json:"pages"`
	// FCPNote says why there is no first contentful paint, when there is
	// none.
	FCPNote string `json:"fcp_note,omitempty"`
}

// pageResult is one console page: its server time with and without the
// store's list caches, its weight and its first contentful paint.
type pageResult struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Total is the Images page's total_num (-1 on other pages).
	Total    int64  `json:"total_num"`
	Uncached timing `json:"uncached"`
	Cached   timing `json:"cached"`
	// Weight: the HTML and every stylesheet and script it links, in
	// bytes as served (no compression).
	HTMLBytes  int      `json:"html_bytes"`
	AssetBytes int      `json:"asset_bytes"`
	Assets     []string `json:"assets"`
	FCP        timing   `json:"fcp"` // Calls 0: not measured
	Met        bool     `json:"met"`
}

// timing is the nearest-rank quantiles of Calls measurements, in ms.
type timing struct {
	Calls int     `json:"calls"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func newTiming(ds []time.Duration) timing {
	q := summarize(ds)
	return timing{Calls: len(ds), P50: q.median, P95: q.p95, P99: q.p99, Max: q.max}
}

// consolePage is one page the benchmark requests.
type consolePage struct{ name, path string }

func (o consoleOptions) pages() []consolePage {
	deep := min(100_000, o.Rows/2)
	all := []consolePage{
		{"Overview", "/"},
		{"Images", "/images"},
		{"Images, namespace", "/images?namespace=ns-07"},
		{"Images, image_name", "/images?image_name=app-001"},
		{"Images, scan_status=success", "/images?scan_status=success"},
		{"Images, has_vul=true, page 2", "/images?has_vul=true&offset=10"},
		{"Images, latest versions, 100 a page", "/images?latest_version=true&limit=100"},
		{"Images, offset " + strconv.Itoa(deep), "/images?offset=" + strconv.Itoa(deep)},
	}
	if len(o.Paths) == 0 {
		return all
	}
	var some []consolePage
	for _, p := range all {
		if slices.Contains(o.Paths, p.path) {
			some = append(some, p)
		}
	}
	return some
}

// timedHandler records how long the last request took in the handler:
// the server time, without the client's or the network's share. The
// benchmark sends one request at a time.
type timedHandler struct {
	h    http.Handler
	last atomic.Int64
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	t.last.Store(int64(time.Since(start)))
}

func runConsole(ctx context.Context, o consoleOptions) (consoleReport, error) {
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	rep := consoleReport{Machine: describeMachine(time.Now()), Engine: "sqlite", Rows: o.Rows,
		Command: strings.Join(os.Args, " ")}
	if o.Postgres != "" {
		rep.Engine = "postgres"
	}
	dir, cleanup, err := workDir(o.Dir, "openhss-bench-console-")
	if err != nil {
		return rep, err
	}
	defer cleanup()
	bs, err := openBenchStore(ctx, listOptions{Postgres: o.Postgres, Schema: o.Schema}, dir)
	if err != nil {
		return rep, err
	}
	defer bs.close()
	st := bs.store

	// Reuse what an earlier run seeded: the rows of the bench project.
	have, err := st.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Limit: 1})
	if err != nil {
		return rep, err
	}
	switch have.Total {
	case int64(o.Rows):
		rep.Reused = true
		progress("reusing the %d rows in %s", o.Rows, bs.where)
	case 0:
		progress("seeding %d rows into %s", o.Rows, bs.where)
		spec := benchseed.Spec{ProjectID: benchProject, Rows: o.Rows, Namespaces: o.Namespaces, Repos: o.Repos,
			Registries: o.Registries}
		start := time.Now()
		if _, err := benchseed.Seed(ctx, st, spec, mrand.New(mrand.NewPCG(1, 2))); err != nil {
			return rep, err
		}
		rep.SeedSeconds = time.Since(start).Seconds()
		progress("seeded in %.1f s", rep.SeedSeconds)
	default:
		return rep, fmt.Errorf("%s holds %d rows of the bench project, not %d: use another --dir or --schema", bs.where,
			have.Total, o.Rows)
	}

	setup, err := newHTTPSetup(st)
	if err != nil {
		return rep, err
	}
	// A user of its own per run: a reused database keeps the earlier ones.
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return rep, err
	}
	user := "console-" + hex.EncodeToString(b)
	if _, err := setup.iam.CreateUser(ctx, benchProject, user, benchPassword, inventory.Grant{All: true}); err != nil {
		return rep, err
	}
	parts, err := setup.build()
	if err != nil {
		return rep, err
	}
	starter, err := taskrun.New(taskrun.Options{Tasks: st, Sync: parts.syncer, Scans: parts.scans})
	if err != nil {
		return rep, err
	}
	con, err := console.New(console.Options{Store: st, Auth: setup.iam, Scans: parts.scans, Tasks: starter, VulnUpdate: parts.updater,
		Box: setup.box, Registries: parts.lister, Fallback: parts.api})
	if err != nil {
		return rep, err
	}
	timed := &timedHandler{h: con}
	srv, err := serve(timed)
	if err != nil {
		return rep, err
	}
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	if err != nil {
		return rep, err
	}
	client := &http.Client{Jar: jar}
	defer client.CloseIdleConnections()
	if err := consoleSignIn(ctx, client, srv.URL, user, benchPassword); err != nil {
		return rep, err
	}
	flip, err := scannableFlipper(ctx, st)
	if err != nil {
		return rep, err
	}
	fetch := func(path string) ([]byte, time.Duration, error) {
		body, err := consoleGet(ctx, client, srv.URL+path)
		return body, time.Duration(timed.last.Load()), err
	}

	stopProfile, err := startProfile(o.CPUProfile, true)
	if err != nil {
		return rep, err
	}
	for _, pg := range o.pages() {
		r := pageResult{Name: pg.name, Path: pg.path, Total: -1}
		body, _, err := fetch(pg.path)
		if err != nil {
			return rep, err
		}
		r.HTMLBytes = len(body)
		if m := totalRE.FindSubmatch(body); m != nil {
			r.Total, _ = strconv.ParseInt(string(m[1]), 10, 64)
		}
		for _, a := range linkedAssets(body) {
			ab, _, err := fetch(a)
			if err != nil {
				return rep, err
			}
			r.Assets = append(r.Assets, a)
			r.AssetBytes += len(ab)
		}
		for range o.Warmup {
			if _, _, err := fetch(pg.path); err != nil {
				return rep, err
			}
		}
		var cached, uncached []time.Duration
		for range o.Iterations {
			_, d, err := fetch(pg.path)
			if err != nil {
				return rep, err
			}
			cached = append(cached, d)
		}
		for range o.Iterations {
			if err := flip(ctx); err != nil { // untimed: moves the images generation
				return rep, err
			}
			_, d, err := fetch(pg.path)
			if err != nil {
				return rep, err
			}
			uncached = append(uncached, d)
		}
		r.Cached, r.Uncached = newTiming(cached), newTiming(uncached)
		stopProfile()
		stopProfile = func() {}
		progress("%-40s uncached p50 %6.1f p99 %6.1f ms, cached p50 %6.1f p99 %6.1f ms, %d B", pg.name,
			r.Uncached.P50, r.Uncached.P99, r.Cached.P50, r.Cached.P99, r.HTMLBytes+r.AssetBytes)
		rep.Pages = append(rep.Pages, r)
	}

	switch _, err := os.Stat(o.Chromium); {
	case o.Chromium == "":
		rep.FCPNote = "no browser given (--chromium)"
	case err != nil:
		rep.FCPNote = "no browser: " + err.Error()
	default:
		if err := measureFCP(ctx, o, srv.URL, user, flip, rep.Pages); err != nil {
			return rep, fmt.Errorf("first contentful paint: %w", err)
		}
	}
	for i := range rep.Pages {
		r := &rep.Pages[i]
		r.Met = r.Uncached.P99 <= ms(targetConsoleP99) && r.HTMLBytes+r.AssetBytes < targetConsoleWeight &&
			(r.FCP.Calls == 0 || r.FCP.Max <= ms(targetConsoleFCP))
	}
	rep.Machine.LoadEnd = loadAverage()
	return rep, nil
}

var (
	totalRE = regexp.MustCompile(`<span id="total">([0-9]+)</span>`)
	csrfRE  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	assetRE = regexp.MustCompile(`<(?:link[^>]*\srel="stylesheet"[^>]*\shref|script[^>]*\ssrc)="([^"]+)"`)
)

// linkedAssets are the stylesheets and scripts a page links, in order.
func linkedAssets(html []byte) []string {
	var out []string
	for _, m := range assetRE.FindAllSubmatch(html, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// consoleSignIn signs in through the console's form, as a browser does:
// the form's double-submit token, then the password.
func consoleSignIn(ctx context.Context, client *http.Client, base, user, password string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		return errors.New("sign in: no CSRF token in the sign-in form")
	}
	form := url.Values{"csrf": {string(m[1])}, "username": {user}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/signin", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req) // follows the redirect to the overview
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="coverage"`) {
		return fmt.Errorf("sign in: %s, no overview", resp.Status)
	}
	return nil
}

// consoleGet fetches a signed-in page; anything but 200 or a sign-in form
// instead of the page is an error.
func consoleGet(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, body)
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "text/html") && strings.Contains(string(body), `id="password"`) {
		return nil, fmt.Errorf("GET %s: the sign-in form, not the page", u)
	}
	return body, nil
}

// fcpScript is the page's first contentful paint in ms since navigation
// start, 0 until the browser has painted.
const fcpScript = `(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: 0}).startTime`

// measureFCP loads every page FCPRuns times in headless Chromium, signed in
// through the form, with the browser's cache disabled (the stylesheet is
// fetched each time) and a write to images before each load (the server
// answers uncached): the slowest case.
func measureFCP(ctx context.Context, o consoleOptions, base, user string, flip func(context.Context) error, pages []pageResult) error {
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(o.Chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 800))
	defer cancelAlloc()
	bctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	bctx, cancel := context.WithTimeout(bctx, 10*time.Minute)
	defer cancel()
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), benchPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#coverage"))); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(bctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return err
	}
	for i := range pages {
		var ds []time.Duration
		for range o.FCPRuns {
			if err := flip(ctx); err != nil {
				return err
			}
			if err := chromedp.Do(bctx, chromedp.Navigate(base+pages[i].Path)); err != nil {
				return fmt.Errorf("%s: %w", pages[i].Path, err)
			}
			pctx, cancel := context.WithTimeout(bctx, 30*time.Second)
			v, err := chromedp.Run(pctx, chromedp.Poll[float64](fcpScript))
			cancel()
			if err != nil {
				return fmt.Errorf("%s: no first-contentful-paint entry: %w", pages[i].Path, err)
			}
			ds = append(ds, time.Duration(v*float64(time.Millisecond)))
		}
		pages[i].FCP = newTiming(ds)
	}
	return nil
}

func printConsoleReport(w io.Writer, rep consoleReport) {
	m := rep.Machine
	fmt.Fprintf(w, "console benchmark, %s, %d rows (%s), %s\n", rep.Engine, rep.Rows,
		map[bool]string{true: "reused", false: fmt.Sprintf("seeded in %.1f s", rep.SeedSeconds)}[rep.Reused], m.Date)
	fmt.Fprintf(w, "machine: %d cores, %.1f GiB, %s, %s, %s; load average (1 min) %.2f at the start, %.2f at the end\n",
		m.Cores, float64(m.RAMBytes)/(1<<30), m.CPU, m.OS, m.Go, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "command: %s\n", rep.Command)
	fmt.Fprintf(w, "targets: uncached server-time p99 <= %v, page weight < %d KiB, first contentful paint <= %v\n\n",
		targetConsoleP99, targetConsoleWeight>>10, targetConsoleFCP)
	fmt.Fprintf(w, "%-38s %9s | %-27s | %-27s | %8s | %-19s |\n", "page", "total_num", "server ms uncached p50/p95/p99",
		"server ms cached p50/p95/p99", "bytes", "FCP ms p50/max")
	for _, p := range rep.Pages {
		total := "-"
		if p.Total >= 0 {
			total = strconv.FormatInt(p.Total, 10)
		}
		fcp := "-"
		if p.FCP.Calls > 0 {
			fcp = fmt.Sprintf("%.0f / %.0f", p.FCP.P50, p.FCP.Max)
		}
		mark := ""
		if !p.Met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "%-38s %9s | %7.1f %7.1f %7.1f     | %7.1f %7.1f %7.1f     | %8d | %-19s | %s\n", p.Name, total,
			p.Uncached.P50, p.Uncached.P95, p.Uncached.P99, p.Cached.P50, p.Cached.P95, p.Cached.P99,
			p.HTMLBytes+p.AssetBytes, fcp, mark)
	}
	if rep.FCPNote != "" {
		fmt.Fprintf(w, "\nno first contentful paint: %s\n", rep.FCPNote)
	}
	if len(rep.Pages) > 0 {
		p := rep.Pages[0]
		fmt.Fprintf(w, "\n%d timed requests per page and mode, one at a time; uncached: a write to images (untimed) before each "+
			"request, so the store's list caches miss; bytes: HTML plus %s; FCP: %d loads per page in headless Chromium, "+
			"browser cache disabled, each after a write to images\n", p.Uncached.Calls, strings.Join(p.Assets, ", "), p.FCP.Calls)
	}
}
