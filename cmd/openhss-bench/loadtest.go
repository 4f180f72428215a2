package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/openhss/openhss/internal/store/postgres"
)

// loadOptions configure `openhss-bench load`.
type loadOptions struct {
	OpenHSS  string // binary to run; "" builds cmd/openhss
	Postgres string // also run on PostgreSQL at this URL (in a new schema)
	NoSQLite bool   // run on PostgreSQL only
	Clients  int
	// UsersPerClient is how many users (credentials) each client takes
	// turns with: the API allows one credential 600 calls a minute.
	UsersPerClient int
	Duration       time.Duration
	MaxRequests    int64 // per store, over all clients
	Repos, Tags    int
	VulnData       string // OSV records imported before the run; "" for none
	Dir            string // work directory; "" for a temporary one
	Progress       io.Writer
}

func defaultLoadOptions() loadOptions {
	return loadOptions{
		Clients: 32, UsersPerClient: 4, Duration: 60 * time.Second, MaxRequests: 2_000_000,
		Repos: 20, Tags: 5, VulnData: filepath.Join("testdata", "osv", "debian-12"),
	}
}

// The operations of the load, in the order of the report.
const (
	opList      = "list"
	opSync      = "sync"
	opBatchScan = "batch-scan list"
	opScanAll   = "batch-scan operate_all"
)

var loadOps = []string{opList, opSync, opBatchScan, opScanAll}

// opCycle is what request n of a client does: lists, with a sync and two
// kinds of batch scan spread over every 25 requests (88% lists). A fixed
// cycle rather than a random pick makes every operation occur in a short run.
func opCycle(n int) string {
	switch n % 25 {
	case 0:
		return opSync
	case 8:
		return opBatchScan
	case 16:
		return opScanAll
	default:
		return opList
	}
}

type loadReport struct {
	Machine  machine    `json:"machine"`
	Clients  int        `json:"clients"`
	Users    int        `json:"users"` // credentials, spread over the clients
	Duration float64    `json:"duration_seconds"`
	Images   int        `json:"images"` // tags in the registry, rows after the sync
	Serve    string     `json:"serve"`  // the server's command line, data paths aside
	Runs     []storeRun `json:"runs"`
	Notes    []string   `json:"notes,omitempty"`
}

type storeRun struct {
	Store string `json:"store"`
	// Setup before the load: the first sync and a scan of every image.
	SyncSeconds float64    `json:"sync_seconds"`
	ScanSeconds float64    `json:"scan_seconds"`
	ScanStatus  string     `json:"scan_status"` // counts per scan_status after the first scan
	Seconds     float64    `json:"seconds"`     // of the load
	Ops         []opResult `json:"ops"`
	Errors      int64      `json:"errors"`             // transport errors, all operations
	Status5xx   int64      `json:"status_5xx"`         // all operations
	Status429   int64      `json:"status_429"`         // all operations
	Requests    int64      `json:"requests"`           // answers, all operations
	RSSBefore   int64      `json:"rss_before"`         // server VmRSS just before the load
	RSSAfter    int64      `json:"rss_after"`          // just after it
	RSSPeakLoad int64      `json:"rss_peak_load"`      // largest VmRSS sampled during the load
	HWM         int64      `json:"vmhwm_after"`        // server VmHWM after the load (its life's peak)
	ServerCPU   float64    `json:"server_cpu_seconds"` // during the load
	// Server log lines at level ERROR during the whole run, and the first few.
	ErrorLines  int      `json:"server_error_lines"`
	FirstErrors []string `json:"server_first_errors,omitempty"`
	Stop        string   `json:"stop"` // how the server stopped ("ok" or the error)
}

type opResult struct {
	Name      string           `json:"name"`
	Requests  int64            `json:"requests"` // answered (any status)
	Errors    int64            `json:"errors"`   // transport errors: no answer
	Status    map[string]int64 `json:"status"`
	Status5xx int64            `json:"status_5xx"`
	Status429 int64            `json:"status_429"`
	RPS       float64          `json:"rps"`
	// Latency of the answers other than 429 (refusals are cheap and would
	// hide the cost of the work).
	P50Ms      float64 `json:"p50_ms"`
	P95Ms      float64 `json:"p95_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	FirstError string  `json:"first_error,omitempty"` // first transport error or 5xx body
}

const loadProject = "1c6e8d2b0a3f47e5b9d8c7a6f5e4d3c2"

func runLoad(ctx context.Context, o loadOptions) (loadReport, error) {
	rep := loadReport{Machine: describeMachine(time.Now()), Clients: o.Clients, Users: o.Clients * o.UsersPerClient, Duration: o.Duration.Seconds()}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
		}
	}
	if o.Clients < 1 || o.Clients > 250 {
		return rep, fmt.Errorf("--clients %d: give 1 to 250 (one loopback address 127.0.0.x each)", o.Clients)
	}
	if o.NoSQLite && o.Postgres == "" {
		return rep, errors.New("--no-sqlite needs --postgres")
	}
	if o.Repos < 1 || o.Tags < 1 || o.UsersPerClient < 1 {
		return rep, errors.New("--repos, --tags and --users-per-client must be at least 1")
	}
	dir, cleanup, err := workDir(o.Dir, "openhss-load-")
	if err != nil {
		return rep, err
	}
	defer cleanup()
	var vulnData string
	if o.VulnData != "" {
		abs, err := filepath.Abs(o.VulnData)
		if err != nil {
			return rep, err
		}
		if _, err := os.Stat(abs); err != nil {
			return rep, fmt.Errorf("--vuln-data: %w (run from the repository root, or give --vuln-data \"\")", err)
		}
		vulnData = abs
	}
	bin, err := openhssBinary(ctx, o.OpenHSS, dir)
	if err != nil {
		return rep, err
	}

	// The registry: go-containerregistry's in-memory one on loopback, as
	// the scan benchmark and the quickstart use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	regSrv := &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go regSrv.Serve(ln)
	defer regSrv.Close()
	regAddr := ln.Addr().String()
	progress("pushing %d repositories × %d tags to %s", o.Repos, o.Tags, regAddr)
	if err := pushLoadImages(ctx, regAddr, o.Repos, o.Tags); err != nil {
		return rep, err
	}
	rep.Images = o.Repos * o.Tags

	var stores []struct{ name, db string }
	if !o.NoSQLite {
		stores = append(stores, struct{ name, db string }{"sqlite", "sqlite://" + filepath.Join(dir, "sqlite", "openhss.db")})
	}
	if o.Postgres != "" {
		dsn, drop, err := postgres.NewSchema(ctx, o.Postgres, "openhss_load_")
		if err != nil {
			return rep, fmt.Errorf("--postgres: %w", err)
		}
		defer drop(context.WithoutCancel(ctx))
		stores = append(stores, struct{ name, db string }{"postgres", dsn})
	}
	for _, s := range stores {
		c := cli{bin: bin, data: filepath.Join(dir, s.name), db: s.db, allow: "127.0.0.0/8"}
		r, serve, err := loadOneStore(ctx, c, s.name, regAddr, vulnData, o, progress)
		if serve != "" {
			rep.Serve = serve
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
		rep.Runs = append(rep.Runs, r)
	}
	rep.Machine.LoadEnd = loadAverage()
	return rep, nil
}

// failed says why rep does not pass: any transport error or 5xx.
func (rep loadReport) failed() error {
	var errs []error
	for _, r := range rep.Runs {
		if r.Errors > 0 || r.Status5xx > 0 {
			errs = append(errs, fmt.Errorf("%s: %d transport errors and %d 5xx answers (want 0 and 0)", r.Store, r.Errors, r.Status5xx))
		}
	}
	return errors.Join(errs...)
}

// pushLoadImages pushes repos × tags small Debian-shaped images: an
// os-release and a dpkg status naming packages at bookworm's release
// versions (so scans find packages and match vulnerabilities), and a file
// that makes every tag's digest its own.
func pushLoadImages(ctx context.Context, addr string, repos, tags int) error {
	base, err := crane.Layer(map[string][]byte{
		"etc/os-release":       []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"),
		"var/lib/dpkg/status":  []byte(loadDpkgStatus),
		"usr/share/doc/README": []byte("openhss load test image\n"),
		"etc/passwd":           []byte("root:x:0:0:root:/root:/bin/sh\n"),
	})
	if err != nil {
		return err
	}
	for i := range repos {
		for j := range tags {
			top, err := crane.Layer(map[string][]byte{
				"srv/app/VERSION": fmt.Appendf(nil, "repo %d tag %d\n", i, j),
			})
			if err != nil {
				return err
			}
			img, err := mutate.AppendLayers(empty.Image, base, top)
			if err != nil {
				return err
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return err
			}
			cf = cf.DeepCopy()
			cf.OS, cf.Architecture = "linux", "amd64"
			cf.Created = v1.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i*tags+j) * time.Hour)}
			if img, err = mutate.ConfigFile(img, cf); err != nil {
				return err
			}
			if err := push(ctx, addr, fmt.Sprintf("ns%d/app%02d:v%d", i%4, i, j+1), img); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadDpkgStatus lists packages at the versions bookworm shipped at its
// release, which the records of testdata/osv/debian-12 have fixes for.
const loadDpkgStatus = `Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.9-1

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libsystemd0
Status: install ok installed
Architecture: amd64
Source: systemd
Version: 252.6-1

Package: tar
Status: install ok installed
Architecture: amd64
Version: 1.34+dfsg-1.2
`

// loadOneStore sets up one store through the CLI, starts `openhss serve`
// on it, syncs and scans every image, then runs the load.
func loadOneStore(ctx context.Context, c cli, storeName, regAddr, vulnData string, o loadOptions, progress func(string, ...any)) (run storeRun, serveLine string, err error) {
	run.Store = storeName
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return run, "", err
	}
	if vulnData != "" {
		progress("%s: db import %s", storeName, vulnData)
		if _, err := c.run(ctx, "", "db", "import", vulnData); err != nil {
			return run, "", err
		}
	}
	// Users of their own for every client: the API limits calls per
	// credential (600 a minute, a 600-call burst), and clients sharing
	// one credential would measure the limiter, not the server.
	progress("%s: creating %d users and the registry connection", storeName, o.Clients*o.UsersPerClient)
	for i := range o.Clients * o.UsersPerClient {
		if _, err := c.run(ctx, loadPassword(i)+"\n", "user", "create", "--project", loadProject, "--name", loadUser(i),
			"--password-stdin", "--enterprise-projects", "all"); err != nil {
			return run, "", err
		}
	}
	if _, err := c.run(ctx, "", c.withAllow(ctx, "registry", "add", "--project", loadProject, "--name", "load",
		"--addr", regAddr, "--protocol", "http")...); err != nil {
		return run, "", err
	}

	srv, err := startServe(ctx, c, filepath.Join(c.data, "serve.log"))
	if err != nil {
		return run, "", err
	}
	serveLine = "openhss " + joinArgs(srv.cmd.Args[1:])
	defer func() {
		// A graceful stop under a queue of scans is part of the test.
		run.Stop = "ok"
		if err := srv.stop(); err != nil {
			run.Stop = err.Error()
		}
	}()
	base := "http://" + srv.addr
	progress("%s: openhss serve (pid %d) at %s", storeName, srv.cmd.Process.Pid, base)

	clients, err := newLoadClients(ctx, base, o.Clients, o.UsersPerClient)
	if err != nil {
		return run, serveLine, err
	}
	defer func() {
		for _, lc := range clients {
			lc.http.CloseIdleConnections()
		}
	}()

	// Setup: a sync, then a scan of every image, both awaited.
	start := time.Now()
	want := int64(o.Repos * o.Tags)
	if err := clients[0].post(ctx, "/image/synchronize", `{"image_type":"private_image"}`); err != nil {
		return run, serveLine, err
	}
	if err := waitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := clients[0].total(ctx, url.Values{})
		return n == want, err
	}); err != nil {
		return run, serveLine, fmt.Errorf("first sync: %w", err)
	}
	run.SyncSeconds = time.Since(start).Seconds()
	progress("%s: synced %d rows in %.1f s", storeName, want, run.SyncSeconds)
	start = time.Now()
	if err := clients[0].post(ctx, "/image/batch-scan", `{"image_type":"private_image","operate_all":true}`); err != nil {
		return run, serveLine, err
	}
	var counts map[string]int64
	if err := waitFor(ctx, 5*time.Minute, func() (bool, error) {
		var err error
		counts, err = clients[0].statusCounts(ctx)
		// The counts are one list call per status, not one snapshot: a
		// row that moved on between two calls is counted twice, so they
		// are taken only when they add up to the rows.
		var all int64
		for _, n := range counts {
			all += n
		}
		done := counts["success"] + counts["failed"] + counts["download_failed"] + counts["image_oversized"]
		return done == want && all == want, err
	}); err != nil {
		return run, serveLine, fmt.Errorf("first scan of every image (%v): %w", counts, err)
	}
	run.ScanSeconds = time.Since(start).Seconds()
	run.ScanStatus = fmt.Sprint(counts)
	progress("%s: scanned every image in %.1f s: %v", storeName, run.ScanSeconds, counts)

	pid := srv.cmd.Process.Pid
	run.RSSBefore = procMemory(pid).RSS
	cpu0 := procCPU(pid)
	progress("%s: %d clients for %v (server RSS %.0f MiB)", storeName, o.Clients, o.Duration, mib(run.RSSBefore))
	sampler := sampleRSS(pid, 250*time.Millisecond)
	results, took := driveLoad(ctx, clients, o)
	run.RSSPeakLoad = sampler()
	run.ServerCPU = (procCPU(pid) - cpu0).Seconds()
	m := procMemory(pid)
	run.RSSAfter, run.HWM = m.RSS, m.HWM
	run.RSSPeakLoad = max(run.RSSPeakLoad, run.RSSAfter)
	run.Seconds = took.Seconds()
	for _, name := range loadOps {
		r := results[name].result(name, took)
		run.Ops = append(run.Ops, r)
		run.Requests += r.Requests
		run.Errors += r.Errors
		run.Status5xx += r.Status5xx
		run.Status429 += r.Status429
	}
	run.ErrorLines, run.FirstErrors = srv.errorsLogged()
	// The server keeps working on the queued scans: a list after the
	// load shows it still answers.
	if _, err := clients[0].total(ctx, url.Values{}); err != nil {
		run.FirstErrors = append(run.FirstErrors, "list after the load: "+err.Error())
		run.Errors++
	}
	progress("%s: %d answers, %d errors, %d 5xx, %d 429 in %.1f s; RSS %.0f → %.0f MiB, peak %.0f MiB",
		storeName, run.Requests, run.Errors, run.Status5xx, run.Status429, run.Seconds, mib(run.RSSBefore), mib(run.RSSAfter), mib(run.HWM))
	return run, serveLine, nil
}

func loadUser(i int) string     { return fmt.Sprintf("load-%02d", i) }
func loadPassword(i int) string { return fmt.Sprintf("load-password-%02d-0123", i) }

// joinArgs is a command line with the temporary paths shortened.
func joinArgs(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && (args[i-1] == "--data" || args[i-1] == "--db") {
			a = "…"
		}
		b.WriteString(a)
	}
	return b.String()
}

// waitFor polls done every 200 ms until it is true, fails or limit passes.
func waitFor(ctx context.Context, limit time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sampleRSS samples pid's VmRSS every interval until the returned function
// is called, which returns the largest sample.
func sampleRSS(pid int, every time.Duration) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss := procMemory(pid).RSS; rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// loadClient is one simulated client: its own users and their tokens (it
// takes turns with them), its own keep-alive connection and loopback source
// address (127.0.0.<i+1>), so that the server's per-address and
// per-credential limits see separate clients.
type loadClient struct {
	i      int
	base   string
	tokens []string
	token  string // the token of the request being built
	http   *http.Client
}

func newLoadClients(ctx context.Context, base string, n, users int) ([]*loadClient, error) {
	out := make([]*loadClient, n)
	for i := range n {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}}
		lc := &loadClient{i: i, base: base, http: &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
		}}
		for u := range users {
			tok, err := lc.signIn(ctx, i*users+u)
			if err != nil {
				return nil, fmt.Errorf("client %d: %w", i, err)
			}
			lc.tokens = append(lc.tokens, tok)
		}
		lc.token = lc.tokens[0]
		out[i] = lc
	}
	return out, nil
}

func (lc *loadClient) signIn(ctx context.Context, user int) (string, error) {
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":%q}}}},"scope":{"project":{"id":%q}}}}`,
		loadUser(user), loadPassword(user), loadUser(user), loadProject)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lc.base+"/v3/auth/tokens", bytes.NewBufferString(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := lc.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	token := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || token == "" {
		return "", fmt.Errorf("POST /v3/auth/tokens: %s: %s", resp.Status, msg)
	}
	return token, nil
}

// do sends one API request and returns the status and body.
func (lc *loadClient) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, lc.base+"/v5/"+loadProject+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", lc.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := lc.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, b, nil
}

func (lc *loadClient) post(ctx context.Context, path, body string) error {
	code, b, err := lc.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("POST %s: %d: %s", path, code, b)
	}
	return nil
}

// total is total_num of a private_image list with the filters q. The
// setup polls with it: a 429 is waited out (for up to 30 s).
func (lc *loadClient) total(ctx context.Context, q url.Values) (int64, error) {
	q.Set("image_type", "private_image")
	q.Set("limit", "1")
	var (
		code int
		b    []byte
		err  error
	)
	for try := 0; ; try++ {
		code, b, err = lc.do(ctx, http.MethodGet, "/image/swr-repository?"+q.Encode(), "")
		if err != nil {
			return 0, err
		}
		if code != http.StatusTooManyRequests || try == 150 {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET swr-repository: %d: %s", code, b)
	}
	var page struct {
		TotalNum int64 `json:"total_num"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return 0, fmt.Errorf("GET swr-repository: %w", err)
	}
	return page.TotalNum, nil
}

func (lc *loadClient) statusCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, s := range []string{"unscan", "waiting_for_scan", "scanning", "success", "failed", "download_failed", "image_oversized"} {
		n, err := lc.total(ctx, url.Values{"scan_status": {s}})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[s] = n
		}
	}
	return out, nil
}

// request is what one step of a client's cycle sends.
func (lc *loadClient) request(n int, rng *mrand.Rand, o loadOptions) (op, method, path, body string) {
	op = opCycle(n)
	switch op {
	case opSync:
		return op, http.MethodPost, "/image/synchronize", `{"image_type":"private_image"}`
	case opBatchScan:
		// One to three named images.
		var items []string
		for range 1 + rng.IntN(3) {
			i, j := rng.IntN(o.Repos), rng.IntN(o.Tags)
			items = append(items, fmt.Sprintf(`{"namespace":"ns%d","image_name":"app%02d","image_version":"v%d"}`, i%4, i, j+1))
		}
		return op, http.MethodPost, "/image/batch-scan", `{"image_type":"private_image","image_info_list":[` + joinComma(items) + `]}`
	case opScanAll:
		return op, http.MethodPost, "/image/batch-scan", fmt.Sprintf(`{"image_type":"private_image","operate_all":true,"namespace":"ns%d"}`, rng.IntN(4))
	}
	q := url.Values{"image_type": {"private_image"}}
	switch rng.IntN(6) {
	case 1:
		q.Set("namespace", fmt.Sprintf("ns%d", rng.IntN(4)))
	case 2:
		q.Set("image_name", fmt.Sprintf("app%02d", rng.IntN(o.Repos)))
	case 3:
		q.Set("latest_version", "true")
	case 4:
		q.Set("scan_status", "success")
	case 5:
		q.Set("has_vul", "true")
	}
	limit := []int{10, 20, 50}[rng.IntN(3)]
	q.Set("limit", strconv.Itoa(limit))
	if pages := (o.Repos*o.Tags + limit - 1) / limit; pages > 1 {
		q.Set("offset", strconv.Itoa(limit*rng.IntN(pages)))
	}
	return op, http.MethodGet, "/image/swr-repository?" + q.Encode(), ""
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// opStats gathers one operation's answers.
type opStats struct {
	mu       sync.Mutex
	times    []time.Duration
	status   map[int]int64
	errors   int64
	firstErr string
}

func (s *opStats) add(code int, d time.Duration, body []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
		return
	}
	s.status[code]++
	if code >= 500 && s.firstErr == "" {
		s.firstErr = fmt.Sprintf("%d: %.300s", code, body)
	}
	if code != http.StatusTooManyRequests {
		s.times = append(s.times, d)
	}
}

func (s *opStats) result(name string, took time.Duration) opResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := opResult{Name: name, Errors: s.errors, Status: map[string]int64{}, FirstError: s.firstErr}
	for code, n := range s.status {
		r.Status[strconv.Itoa(code)] = n
		r.Requests += n
		if code >= 500 {
			r.Status5xx += n
		}
		if code == http.StatusTooManyRequests {
			r.Status429 += n
		}
	}
	if took > 0 {
		r.RPS = float64(r.Requests) / took.Seconds()
	}
	q := summarizeP(s.times)
	r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs = q.p50, q.p95, q.p99, q.max
	return r
}

type pquantiles struct{ p50, p95, p99, max float64 }

func summarizeP(ds []time.Duration) pquantiles {
	if len(ds) == 0 {
		return pquantiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 { // nearest rank, as summarize
		i := int(p*float64(len(s))+0.999999) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return pquantiles{p50: at(0.50), p95: at(0.95), p99: at(0.99), max: ms(s[len(s)-1])}
}

// driveLoad runs every client's cycle until o.Duration has passed or
// o.MaxRequests were sent, and returns the statistics per operation. A
// request under way at the deadline is awaited (the client's timeout
// bounds it), so no answer is cut short by the benchmark itself.
func driveLoad(ctx context.Context, clients []*loadClient, o loadOptions) (map[string]*opStats, time.Duration) {
	stats := map[string]*opStats{}
	for _, name := range loadOps {
		stats[name] = &opStats{status: map[int]int64{}}
	}
	var (
		sent atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.Duration)
	for _, lc := range clients {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(lc.i), 42))
			for n := 0; time.Now().Before(deadline) && sent.Add(1) <= o.MaxRequests && ctx.Err() == nil; n++ {
				op, method, path, body := lc.request(n, rng, o)
				lc.token = lc.tokens[n%len(lc.tokens)]
				t0 := time.Now()
				code, b, err := lc.do(context.WithoutCancel(ctx), method, path, body)
				stats[op].add(code, time.Since(t0), b, err)
				if code == http.StatusTooManyRequests {
					// A well-behaved client backs off: the bucket
					// refills one call per 100 ms.
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return stats, time.Since(start)
}
