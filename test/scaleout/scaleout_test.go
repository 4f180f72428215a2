package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/iam/iamtest"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

const project = "scaleproject"

// TestTwoServersOneDatabase runs two `openhss serve` processes, two
// workers each, on one PostgreSQL schema and drives them only through the
// HTTP API: a registry added through one is synced when the other asks,
// exactly once; both list the same rows; scans requested through one are
// run by the workers of both.
func TestTwoServersOneDatabase(t *testing.T) {
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping the scale-out test")
	}
	db := newSchema(t, dsn) // first, so that its cleanup runs after the servers stopped
	bin := buildBinary(t)
	data := t.TempDir() // shared: both servers need the same secret key
	ak, sk := credential(t, bin, data, db.url)

	// Four repositories of one image each, each its own manifest digest:
	// four scan jobs.
	const images = 4
	gate := &blobGate{want: images, open: make(chan struct{})}
	reg := registrytest.New(t, registrytest.WithMiddleware(gate.wrap))
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range images {
		reg.PushImage(t, fmt.Sprintf("team/app%d", i), "1.0", registrytest.ImageOptions{
			Created: t0.Add(time.Duration(i) * time.Hour), Layers: []map[string]string{{"etc/app": fmt.Sprint("app ", i)}},
		})
	}

	a := startServer(t, bin, data, db.url, "a")
	b := startServer(t, bin, data, db.url, "b")
	if a.pid == b.pid {
		t.Fatal("both servers report one process")
	}

	// Added through A...
	a.call(t, ak, sk, http.MethodPost, "/image/registries", map[string]any{
		"registry_name": "local", "registry_type": "Other", "api_version": "V2", "protocol": "http",
		"registry_addr": reg.Addr(), "namespace": "team",
	}, nil)
	// ...B sees it at once, and syncs when asked.
	var regs struct {
		TotalNum int `json:"total_num"`
		DataList []struct {
			ID             string `json:"id"`
			Status         string `json:"status"`
			ImagesNum      int    `json:"images_num"`
			LatestSyncTime int64  `json:"latest_sync_time"`
		} `json:"data_list"`
	}
	b.call(t, ak, sk, http.MethodGet, "/image/registries", nil, &regs)
	if regs.TotalNum != 1 || regs.DataList[0].Status != "accessing" {
		t.Fatalf("B's registries after A added one: %+v", regs)
	}
	b.call(t, ak, sk, http.MethodPost, "/image/synchronize", map[string]any{"image_type": "private_image"}, nil)
	// The registry's status is written by the sync's handler, the job's
	// end by the worker after the handler returns: wait for both.
	waitFor(t, "the sync to finish", func() bool {
		a.call(t, ak, sk, http.MethodGet, "/image/registries", nil, &regs)
		syncs := db.jobs(t, "sync")
		return regs.DataList[0].Status != "accessing" && (len(syncs) != 1 || syncs[0].state != "running")
	})
	if r := regs.DataList[0]; r.Status != "success" || r.ImagesNum != images || r.LatestSyncTime == 0 {
		t.Fatalf("registry after sync: %+v", r)
	}
	syncs := db.jobs(t, "sync")
	if len(syncs) != 1 || syncs[0].state != "done" || syncs[0].attempts != 1 {
		t.Fatalf("sync jobs = %+v; want one, done at the first attempt", syncs)
	}
	if o := syncs[0].owner; !a.owns(o) && !b.owns(o) {
		t.Fatalf("sync job owned by %q, a worker of neither server", o)
	}
	listA, listB := a.get(t, ak, sk, "/image/swr-repository?image_type=private_image&limit=100"), b.get(t, ak, sk, "/image/swr-repository?image_type=private_image&limit=100")
	if !bytes.Equal(listA, listB) {
		t.Fatalf("the servers list different rows:\nA: %s\nB: %s", listA, listB)
	}
	var list struct {
		TotalNum int       `json:"total_num"`
		DataList []listRow `json:"data_list"`
	}
	if err := json.Unmarshal(listA, &list); err != nil || list.TotalNum != images {
		t.Fatalf("list after sync: %s (%v)", listA, err)
	}

	// Scans requested through A. Every scan's first blob read is held
	// until all four scans are reading at once: four jobs in progress
	// together need four workers, so both servers' pairs must have taken
	// some. (A's workers are woken by the request; B's find the rest at
	// their next poll.)
	gate.arm()
	a.call(t, ak, sk, http.MethodPost, "/image/batch-scan", map[string]any{"image_type": "private_image", "operate_all": true}, nil)
	select {
	case <-gate.open:
	case <-time.After(2 * time.Minute):
		gate.release()
		t.Fatalf("never %d scans in progress at once (blocked: %v)", images, gate.blocked())
	}
	waitFor(t, "the scans to finish", func() bool {
		if err := json.Unmarshal(b.get(t, ak, sk, "/image/swr-repository?image_type=private_image&limit=100"), &list); err != nil {
			t.Fatal(err)
		}
		// A worker stores the scan's result, then ends its job: the list
		// can show every image scanned while a job is still running.
		return !slices.ContainsFunc(list.DataList, func(r listRow) bool {
			return r.ScanStatus == "waiting_for_scan" || r.ScanStatus == "scanning"
		}) && !slices.ContainsFunc(db.jobs(t, "scan"), func(j jobRow) bool {
			return j.state == "queued" || j.state == "running"
		})
	})
	for _, r := range list.DataList {
		if r.ScanStatus != "success" {
			t.Errorf("%s: scan_status %s", r.ImageName, r.ScanStatus)
		}
	}
	scans := db.jobs(t, "scan")
	owners := map[string]int{}
	for _, j := range scans {
		if j.state != "done" || j.attempts != 1 {
			t.Errorf("scan job %+v; want done at the first attempt", j)
		}
		owners[j.owner]++
	}
	var byA, byB int
	for o, n := range owners {
		switch {
		case a.owns(o):
			byA += n
		case b.owns(o):
			byB += n
		default:
			t.Errorf("%d scan jobs owned by %q, a worker of neither server", n, o)
		}
	}
	t.Logf("scan jobs run by A: %d, by B: %d", byA, byB)
	if len(scans) != images || byA == 0 || byB == 0 {
		t.Fatalf("%d scan jobs, %d run by A and %d by B; want %d, run by both", len(scans), byA, byB, images)
	}

	// What the workers stored is what either server serves.
	if listA, listB = a.get(t, ak, sk, "/image/swr-repository?image_type=private_image&limit=100"), b.get(t, ak, sk, "/image/swr-repository?image_type=private_image&limit=100"); !bytes.Equal(listA, listB) {
		t.Fatalf("after scanning the servers list different rows:\nA: %s\nB: %s", listA, listB)
	}
	apps := "/image/" + list.DataList[0].ImageID + "/apps?image_type=private_image"
	if appsA, appsB := a.get(t, ak, sk, apps), b.get(t, ak, sk, apps); !bytes.Equal(appsA, appsB) || !strings.Contains(string(appsA), `"total_num"`) {
		t.Fatalf("apps of %s differ or are missing:\nA: %s\nB: %s", list.DataList[0].ImageID, appsA, appsB)
	}
}

// listRow is what the test reads of a row of the image list.
type listRow struct {
	ImageID    string `json:"image_id"`
	ImageName  string `json:"image_name"`
	ScanStatus string `json:"scan_status"`
}

// database is the test's schema of OPENHSS_TEST_POSTGRES.
type database struct {
	url    string // OPENHSS_TEST_POSTGRES with search_path set to the schema
	schema string
	conn   *pgx.Conn
}

// newSchema creates an empty schema of a random name, dropped at cleanup.
func newSchema(t *testing.T, dsn string) *database {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "openhss_scaleout_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to OPENHSS_TEST_POSTGRES: %v", err)
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("OPENHSS_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &database{url: u.String(), schema: schema, conn: conn}
}

type jobRow struct {
	id       int64
	state    string
	attempts int
	owner    string
}

// jobs reads the job table of the schema: the servers' shared queue.
func (d *database) jobs(t *testing.T, kind string) []jobRow {
	t.Helper()
	rows, err := d.conn.Query(context.Background(), `SELECT id, state, attempts, owner FROM `+d.schema+`.jobs WHERE kind = $1 ORDER BY id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	var out []jobRow
	var j jobRow
	if _, err := pgx.ForEachRow(rows, []any{&j.id, &j.state, &j.attempts, &j.owner}, func() error {
		out = append(out, j)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// buildBinary builds cmd/openhss of this module.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "openhss")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/openhss")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build openhss: %v", err)
	}
	return bin
}

// credential creates an access key for project with `openhss credential
// create` on the database (which also migrates the fresh schema).
func credential(t *testing.T, bin, data, db string) (ak, sk string) {
	t.Helper()
	cmd := exec.Command(bin, "credential", "create", "--data", data, "--db", db, "--project", project,
		"--enterprise-projects", "all", "--json", "--log-level", "error")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("credential create: %v\n%s", err, stderr.String())
	}
	var c struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(out, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
		t.Fatalf("credential create printed %q (%v)", out, err)
	}
	return c.AccessKey, c.SecretKey
}

// server is a running `openhss serve`.
type server struct {
	name string
	base string
	pid  int
}

var readyLine = regexp.MustCompile(`msg="openhss ready" addr=(\S+)`)

// startServer runs `openhss serve --workers 2` on the shared data directory
// and database, on a free loopback port, and stops it (SIGINT) at cleanup.
func startServer(t *testing.T, bin, data, db, name string) *server {
	t.Helper()
	// --registry-allow: the test's registry listens on 127.0.0.1, which the
	// default network policy denies.
	cmd := exec.Command(bin, "serve", "--data", data, "--db", db, "--listen", "127.0.0.1:0", "--workers", "2", "--log-level", "info",
		"--registry-allow", "127.0.0.1/32")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "openhss %s: %s\n", name, sc.Text())
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("openhss serve %s did not stop cleanly: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("openhss serve %s did not stop within 30 s of SIGINT", name)
		}
	})
	select {
	case a := <-addr:
		return &server{name: name, base: "http://" + a, pid: cmd.Process.Pid}
	case <-time.After(60 * time.Second):
		t.Fatalf("openhss serve %s did not log its ready line", name)
	}
	return nil
}

// owns reports whether a job owner is this server's runner: jobs.Runner
// names itself host/pid/random.
func (s *server) owns(owner string) bool {
	parts := strings.Split(owner, "/")
	return len(parts) == 3 && parts[1] == fmt.Sprint(s.pid)
}

// call sends a signed request for path under /v5/{project}; it fails the
// test unless the answer is 200, and decodes it into out when set.
func (s *server) call(t *testing.T, ak, sk, method, path string, body, out any) []byte {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, s.base+"/v5/"+project+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := iamtest.SignRequest(req, raw, ak, sk, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, s.name, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s on %s: %d %s", method, path, s.name, resp.StatusCode, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s on %s: %v in %s", method, path, s.name, err, got)
		}
	}
	return got
}

func (s *server) get(t *testing.T, ak, sk, path string) []byte {
	t.Helper()
	return s.call(t, ak, sk, http.MethodGet, path, nil, nil)
}

// waitFor polls cond until it holds; it fails the test after two minutes,
// far beyond what the work takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// blobGate holds blob reads of the registry once armed, until reads of
// want distinct repositories wait at once; then it lets everything
// through for good.
type blobGate struct {
	want int
	open chan struct{}

	mu      sync.Mutex
	armed   bool
	opened  bool
	waiting map[string]bool
}

func (g *blobGate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.waiting = true, map[string]bool{}
}

func (g *blobGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		g.opened = true
		close(g.open)
	}
}

func (g *blobGate) blocked() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for r := range g.waiting {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

var blobPath = regexp.MustCompile(`^/v2/(.+)/blobs/[^/]+$`)

func (g *blobGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := blobPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
			g.mu.Lock()
			hold := g.armed && !g.opened
			if hold {
				g.waiting[m[1]] = true
				if len(g.waiting) >= g.want {
					g.opened = true
					close(g.open)
					hold = false
				}
			}
			g.mu.Unlock()
			if hold {
				select {
				case <-g.open:
				case <-r.Context().Done():
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
