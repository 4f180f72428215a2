package crash

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"database/sql"
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
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/openhss/openhss/internal/iam/iamtest"
)

const project = "crashproject"

// bin is the openhss binary TestMain built for the whole package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "openhss-crash-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "openhss")
	build := exec.Command("go", "build", "-o", bin, "./cmd/openhss")
	build.Dir = filepath.Join("..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build openhss:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveHasFlag reports whether `openhss serve --help` lists flag: the test
// passes flags that other changes add only where the binary has them.
var serveHelp = sync.OnceValue(func() string {
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	return string(out)
})

func serveHasFlag(flag string) bool { return strings.Contains(serveHelp(), "--"+flag+" ") }

// engine is one database the test runs on: a data directory and a --db URL,
// and a read connection of the test's own.
type engine struct {
	name string
	data string // --data: the secret key, downloads
	url  string // --db; "" for the SQLite default in data
	read *sql.DB
}

// newEngine prepares an empty database of kind "sqlite" or "postgres"
// (skipping the test when OPENHSS_TEST_POSTGRES is unset), migrated by
// `openhss credential create`, and returns it with an access key.
func newEngine(t *testing.T, kind string) (e *engine, ak, sk string) {
	t.Helper()
	e = &engine{name: kind, data: t.TempDir()}
	switch kind {
	case "sqlite":
	case "postgres":
		e.url = newSchema(t)
	default:
		t.Fatalf("unknown engine %q", kind)
	}
	ak, sk = credential(t, e)
	var err error
	if e.url == "" {
		// Read-only: the test never writes what it checks.
		e.read, err = sql.Open("sqlite", "file:"+filepath.Join(e.data, "openhss.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	} else {
		e.read, err = sql.Open("pgx", e.url)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.read.Close() })
	return e, ak, sk
}

// newSchema creates an empty schema of a random name in
// OPENHSS_TEST_POSTGRES, dropped at cleanup, and returns a URL for it.
func newSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping the PostgreSQL run")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "openhss_crash_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("OPENHSS_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("OPENHSS_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// args are the global flags of every command on e.
func (e *engine) args(cmd ...string) []string {
	out := append(cmd, "--data", e.data, "--log-level", "info")
	if e.url != "" {
		out = append(out, "--db", e.url)
	}
	return out
}

// run runs a short openhss command on e and returns its stdout.
func (e *engine) run(t *testing.T, cmd ...string) []byte {
	t.Helper()
	c := exec.Command(bin, e.args(cmd...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("openhss %s: %v\n%s", strings.Join(cmd, " "), err, stderr.String())
	}
	return out
}

func credential(t *testing.T, e *engine) (ak, sk string) {
	t.Helper()
	out := e.run(t, "credential", "create", "--project", project, "--enterprise-projects", "all", "--json")
	var c struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(out, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
		t.Fatalf("credential create printed %q (%v)", out, err)
	}
	return c.AccessKey, c.SecretKey
}

// count runs a COUNT query on the test's read connection; both engines
// take the same SQL with numbered parameters written as ?.
func (e *engine) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	if e.url != "" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := e.read.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// strings runs a query of one text column.
func (e *engine) strings(t *testing.T, query string) []string {
	t.Helper()
	rows, err := e.read.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dbStatus is what the test reads of `openhss db status --json`.
type dbStatus struct {
	Records    int `json:"records"`
	Withdrawn  int `json:"withdrawn"`
	Ecosystems []struct {
		Ecosystem string `json:"ecosystem"`
		Records   int    `json:"records"`
	} `json:"ecosystems"`
	LastImport *importLog  `json:"last_import"`
	Unfinished []importLog `json:"unfinished"`
}

type importLog struct {
	Source  string `json:"source"`
	State   string `json:"state"`
	Records int    `json:"records"`
	Written int    `json:"written"`
}

func (e *engine) dbStatus(t *testing.T) dbStatus {
	t.Helper()
	var st dbStatus
	out := e.run(t, "db", "status", "--json")
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("db status --json printed %q: %v", out, err)
	}
	return st
}

// proc is a running openhss child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	addr chan string // the API address, once `openhss ready` is logged
	base string
}

var readyLine = regexp.MustCompile(`msg="openhss ready" addr=(\S+)`)

// start runs openhss with args on e, with TMPDIR set to scratch (the scan
// scratch root), logging to the test log when verbose.
func (e *engine) start(t *testing.T, name, scratch string, args ...string) *proc {
	t.Helper()
	c := exec.Command(bin, e.args(args...)...)
	c.Env = append(os.Environ(), "TMPDIR="+scratch)
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: c, done: make(chan struct{}), addr: make(chan string, 1)}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				p.addr <- m[1]
			}
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "[%s %s] %s\n", e.name, name, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = c.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// serve starts `openhss serve` and waits for its ready line.
func (e *engine) serve(t *testing.T, scratch string, extra ...string) *proc {
	t.Helper()
	args := []string{"serve", "--listen", "127.0.0.1:0", "--workers", "2"}
	if serveHasFlag("job-lease") {
		// A killed worker's jobs run again after this, not after 30 s.
		args = append(args, "--job-lease", "2s")
	}
	if serveHasFlag("registry-allow") {
		args = append(args, "--registry-allow", "127.0.0.0/8")
	}
	args = append(args, extra...)
	p := e.start(t, "serve", scratch, args...)
	select {
	case a := <-p.addr:
		p.base = "http://" + a
	case <-p.done:
		t.Fatalf("openhss serve exited before it was ready: %v", p.err)
	case <-time.After(60 * time.Second):
		t.Fatal("openhss serve did not log its ready line within 60 s")
	}
	return p
}

// kill sends SIGKILL and reaps the process (a zombie would still look
// alive to a liveness check).
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop asks the process to stop (SIGINT) and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("openhss did not stop cleanly: %v", p.err)
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Errorf("openhss did not stop within 30 s of SIGINT")
	}
}

// call sends a signed request for path under /v5/{project}; it fails the
// test unless the answer is 200, and decodes it into out when set.
func (p *proc) call(t *testing.T, ak, sk, method, path string, body, out any) {
	t.Helper()
	if err := p.try(ak, sk, method, path, body, out); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) try(ak, sk, method, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(method, p.base+"/v5/"+project+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := iamtest.SignRequest(req, raw, ak, sk, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("%s %s: %w in %s", method, path, err, got)
		}
	}
	return nil
}

// poll calls cond until it holds or limit passes; it reports whether cond
// held. Not an assertion on time: the limit only bounds a wait for work that
// takes a small fraction of it.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// gate holds the registry's requests that a rule picks, until released,
// and can signal after a response was served. Set a rule, act, wait on
// hit; a killed client's held requests end with their connection.
type gate struct {
	mu      sync.Mutex
	hold    func(r *http.Request) bool
	after   func(r *http.Request) bool
	hit     chan string
	release chan struct{}
	opened  bool // release is closed
}

func newGate() *gate {
	g := &gate{hit: make(chan string, 1), release: make(chan struct{})}
	g.clear()
	return g
}

// set installs a rule: requests hold picks are held; a request after picks
// once served signals hit. Either may be nil.
func (g *gate) set(hold, after func(r *http.Request) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.after = hold, after
	g.release, g.opened = make(chan struct{}), false
	select {
	case <-g.hit:
	default:
	}
}

// clear removes the rule and lets held requests through.
func (g *gate) clear() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.after = nil, nil
	if !g.opened {
		g.opened = true
		close(g.release)
	}
}

func (g *gate) signal(path string) {
	select {
	case g.hit <- path:
	default:
	}
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		hold, after, release := g.hold, g.after, g.release
		g.mu.Unlock()
		if hold != nil && hold(r) {
			g.signal(r.URL.Path)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
		if after != nil && after(r) {
			g.signal(r.URL.Path)
		}
	})
}

// waitHit waits for the gate's signal.
func (g *gate) waitHit(t *testing.T, what string) string {
	t.Helper()
	select {
	case p := <-g.hit:
		return p
	case <-time.After(60 * time.Second):
		t.Fatalf("the registry never saw %s", what)
	}
	return ""
}

var (
	blobPath     = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	tagsPath     = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
)

// goVulnDB is the Go vulnerability database (4,789 OSV records): an
// import long enough to be killed in the middle. The module is fetched
// with `go mod download` (from the module cache when warm).
var goVulnDB = sync.OnceValues(func() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018")
	cmd.Dir = os.TempDir() // outside the module: never touches go.mod
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb: %w", err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	return filepath.Join(info.Dir, "data", "osv"), nil
})

func goVulnDBDir(t *testing.T) string {
	t.Helper()
	dir, err := goVulnDB()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
