package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/console"
	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
)

const (
	projA = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	projB = "ffeeddccbbaa99887766554433221100"
)

// env is the console over a real SQLite store and the real IAM, with a
// fallback standing in for the API.
type env struct {
	t        *testing.T
	url      string
	handler  http.Handler
	st       *sqlite.Store
	dbPath   string   // st's file, for a second handle (another server)
	fallback []string // paths the fallback served
	scans    *recordedScans
	rows     map[string]int64
	box      *secret.Box
	syncs    *recordedSyncs
	starter  *taskrun.Starter
	iam      *iam.Service
	updater  *vulnupdate.Updater
	vulnDB   *vulndb.DB // the updater's, for another updater over the same store
	rematch  *countingRematch
	reads    *countingStore // st as the console reads it
}

// countingStore is the store counting the reads of the Unsafe settings
// tab, which should not grow with the baselines it lists.
type countingStore struct {
	*sqlite.Store
	mu             sync.Mutex
	configs, rules int
}

func (c *countingStore) RiskConfigs(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskConfigFilter) (int64, []scanresult.RiskConfig, error) {
	c.mu.Lock()
	c.configs++
	c.mu.Unlock()
	return c.Store.RiskConfigs(ctx, sel, f)
}

func (c *countingStore) RiskConfigRules(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskRuleFilter) (int64, []scanresult.RiskRule, error) {
	c.mu.Lock()
	c.rules++
	c.mu.Unlock()
	return c.Store.RiskConfigRules(ctx, sel, f)
}

// counted returns the reads counted since the last call and resets them.
func (c *countingStore) counted() (configs, rules int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	configs, rules, c.configs, c.rules = c.configs, c.rules, 0, 0
	return configs, rules
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// Nothing listens on port 1: only the update test, which serves
	// archives, lets an update job run.
	return newEnvUpdating(t, "http://127.0.0.1:1")
}

// countingRematch counts the re-matches of update jobs (the re-match
// itself is scanjob's, tested there).
type countingRematch struct {
	mu sync.Mutex
	n  int
}

func (c *countingRematch) Rematch(context.Context) (scanjob.RematchStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return scanjob.RematchStats{}, nil
}

// newEnvUpdating is newEnv whose vulnerability data updates fetch the
// archives of vulnBase, its updater's options changed by opts.
func newEnvUpdating(t *testing.T, vulnBase string, opts ...func(*vulnupdate.Options)) *env {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "openhss.db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := iam.New(iam.Options{Store: st, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		project, name string
		grant         inventory.Grant
	}{
		{projA, "alice", inventory.Grant{All: true}},
		{projA, "eve", inventory.Grant{IDs: []string{"ep1"}}},
		{projB, "bob", inventory.Grant{All: true}},
	} {
		if _, err := svc.CreateUser(ctx, u.project, u.name, "correct-horse", u.grant); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, st: st, dbPath: dbPath, rows: map[string]int64{}, rematch: &countingRematch{}, scans: &recordedScans{},
		box: box, syncs: &recordedSyncs{}, iam: svc, reads: &countingStore{Store: st}}
	for i, r := range []struct {
		key, project, ep, ns, name string
	}{
		{"a1", projA, "0", "team", "web"},
		{"a2", projA, "0", "team", "api"},
		{"a3", projA, "0", "other", "db"},
		{"ep1", projA, "ep1", "team", "ep1-app"},
		{"b1", projB, "0", "team", "b-secret"},
	} {
		d := fmt.Sprintf("sha256:%064x", i+1)
		row, err := st.PutLocalImage(ctx, inventory.Image{ProjectID: r.project, EnterpriseProjectID: r.ep, Type: inventory.LocalImage,
			Namespace: r.ns, Name: r.name, Tag: "1.0", Digest: d},
			[]inventory.Manifest{{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10, Platform: "linux/amd64", Scannable: true}})
		if err != nil {
			t.Fatal(err)
		}
		e.rows[r.key] = row.ID
	}
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.fallback = append(e.fallback, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
	starter, err := taskrun.New(taskrun.Options{Tasks: st, Sync: e.syncs, Scans: e.scans})
	if err != nil {
		t.Fatal(err)
	}
	e.starter = starter
	// The lister under the default network policy: these tests connect to
	// no registry (the browser test does).
	lister, err := registry.NewLister(registry.ListerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.vulnDB, err = vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	uo := vulnupdate.Options{DB: e.vulnDB, Rematch: e.rematch, Queue: st, BaseURL: vulnBase, Ecosystems: []string{"Debian"}}
	for _, o := range opts {
		o(&uo)
	}
	e.updater, err = vulnupdate.New(uo)
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Options{Store: e.reads, Auth: svc, Scans: e.scans, Tasks: starter, VulnUpdate: e.updater, Box: box,
		Registries: lister, Fallback: fallback})
	if err != nil {
		t.Fatal(err)
	}
	e.handler = c
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// do sends a request with the cookies given and does not follow redirects.
func (e *env) do(method, path string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// recordedScans records the scans the console asks for. The scan queue
// itself (scanjob) is exercised end to end by the browser test against
// openhss quickstart; here it is enough to know what was asked.
type recordedScans struct {
	mu        sync.Mutex
	requests  [][]int64 // the row ids of each request
	cancelled []string
	scanAll   []scanAllRequest
}

// scanAllRequest is one RequestScanAll: the task and the filter.
type scanAllRequest struct {
	taskID string
	filter inventory.Filter
}

func (r *recordedScans) RequestScanAll(_ context.Context, _, taskID string, f inventory.Filter) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scanAll = append(r.scanAll, scanAllRequest{taskID: taskID, filter: f})
	return nil
}

func (r *recordedScans) scanAlls() []scanAllRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.scanAll)
}

func (r *recordedScans) RequestScans(_ context.Context, _, _ string, images []inventory.Image) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int64
	for _, img := range images {
		ids = append(ids, img.ID)
	}
	r.requests = append(r.requests, ids)
	return nil
}

func (r *recordedScans) CancelScans(_ context.Context, _ string, digests []string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = append(r.cancelled, digests...)
	return digests, nil
}

// recordedSyncs records the syncs the console asks for; the sync itself is
// exercised by the browser test.
type recordedSyncs struct {
	mu    sync.Mutex
	types []inventory.ImageType
}

func (r *recordedSyncs) Request(_ context.Context, _ string, t inventory.ImageType) (jobs.Job, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types = append(r.types, t)
	return jobs.Job{}, true, nil
}

func (r *recordedSyncs) all() []inventory.ImageType {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.types)
}

func (r *recordedScans) all() [][]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn signs user in through the form and returns the session cookie
// and the CSRF token of the page it lands on.
func (e *env) signIn(user string) (*http.Cookie, string) {
	e.t.Helper()
	resp, body := e.do("GET", "/", nil)
	m := csrfField.FindStringSubmatch(body)
	pre := cookie(resp, "openhss_signin")
	if m == nil || pre == nil {
		e.t.Fatalf("sign-in form without its token or cookie:\n%s", body)
	}
	resp, body = e.do("POST", "/signin", url.Values{"csrf": {m[1]}, "username": {user}, "password": {"correct-horse"}}, pre)
	s := cookie(resp, "openhss_session")
	if resp.StatusCode != http.StatusSeeOther || s == nil || s.Value == "" {
		e.t.Fatalf("sign in as %s: %s\n%s", user, resp.Status, body)
	}
	if !s.HttpOnly || s.SameSite != http.SameSiteStrictMode || s.Secure {
		e.t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", s)
	}
	_, body = e.do("GET", "/", nil, s)
	m = csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the overview:\n%s", body)
	}
	return &http.Cookie{Name: s.Name, Value: s.Value}, m[1]
}

func TestSignedOutPagesShowTheSignInForm(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/images", "/images?namespace=team", fmt.Sprintf("/images/%d", e.rows["a1"]), "/registries", "/tasks", "/settings"} {
		resp, body := e.do("GET", p, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="password"`) || strings.Contains(body, "team/") {
			t.Errorf("GET %s signed out: %s\n%.300s", p, resp.Status, body)
		}
		checkHeaders(t, p, resp)
	}
}

func checkHeaders(t *testing.T, p string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: Content-Security-Policy %q", p, csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options nosniff", p)
	}
}

func TestOtherPathsGoToTheFallback(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/v5/" + projA + "/image/swr-repository", "/v5/nope", "/v3/auth/tokens", "/healthz", "/metrics", "/favicon.ico", "/images/1/x", "//images"} {
		if resp, _ := e.do("GET", p, nil); resp.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: %s, want the fallback's answer", p, resp.Status)
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	// A sign-in without the form's token, or with a token that is not the
	// cookie's, starts no session.
	resp, body := e.do("GET", "/", nil)
	pre := cookie(resp, "openhss_signin")
	token := csrfField.FindStringSubmatch(body)[1]
	for name, tc := range map[string]struct {
		form    url.Values
		cookies []*http.Cookie
	}{
		"no token":               {url.Values{"username": {"alice"}, "password": {"correct-horse"}}, []*http.Cookie{pre}},
		"no cookie":              {url.Values{"csrf": {token}, "username": {"alice"}, "password": {"correct-horse"}}, nil},
		"token not the cookie's": {url.Values{"csrf": {token + "x"}, "username": {"alice"}, "password": {"correct-horse"}}, []*http.Cookie{pre}},
	} {
		resp, _ := e.do("POST", "/signin", tc.form, tc.cookies...)
		if resp.StatusCode != http.StatusForbidden || cookie(resp, "openhss_session") != nil {
			t.Errorf("sign-in with %s: %s, session cookie %v", name, resp.Status, cookie(resp, "openhss_session"))
		}
	}

	s, csrf := e.signIn("alice")
	other, otherCSRF := e.signIn("bob")
	e.checkCSRFRefused(s, otherCSRF, nil, "/signout")
	// Nothing changed: the session still opens the overview.
	if _, body := e.do("GET", "/", nil, s); !strings.Contains(body, `id="coverage"`) {
		t.Fatalf("the refused sign-outs ended the session")
	}
	if resp, _ := e.do("POST", "/signout", url.Values{"csrf": {csrf}}, s); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out with the token: %s", resp.Status)
	}
	if _, body := e.do("GET", "/", nil, s); !strings.Contains(body, `id="password"`) {
		t.Fatalf("the session cookie still works after sign-out")
	}
	// Bob's session is his own and survives Alice's sign-out.
	if _, body := e.do("GET", "/", nil, other); !strings.Contains(body, `id="coverage"`) {
		t.Fatalf("another user's session ended with alice's")
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("GET", "/", nil)
	pre := cookie(resp, "openhss_signin")
	token := csrfField.FindStringSubmatch(body)[1]
	for _, u := range []string{"alice", "nobody"} {
		resp, body := e.do("POST", "/signin", url.Values{"csrf": {token}, "username": {u}, "password": {"wrong"}}, pre)
		if resp.StatusCode != http.StatusUnauthorized || cookie(resp, "openhss_session") != nil || !strings.Contains(body, "Wrong user name or password.") {
			t.Errorf("sign in as %s with a wrong password: %s", u, resp.Status)
		}
	}
}

func TestProjectsAndEnterpriseProjects(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.signIn("alice")
	eve, _ := e.signIn("eve") // project A, only ep1
	bob, _ := e.signIn("bob")
	for _, tc := range []struct {
		who    string
		c      *http.Cookie
		row    string
		status int
	}{
		{"alice", alice, "a1", http.StatusOK},
		{"alice", alice, "ep1", http.StatusOK},
		{"alice", alice, "b1", http.StatusNotFound},
		{"eve", eve, "ep1", http.StatusOK},
		{"eve", eve, "a1", http.StatusNotFound},
		{"bob", bob, "b1", http.StatusOK},
		{"bob", bob, "a1", http.StatusNotFound},
	} {
		resp, body := e.do("GET", fmt.Sprintf("/images/%d", e.rows[tc.row]), nil, tc.c)
		if resp.StatusCode != tc.status {
			t.Errorf("%s opens %s: %s, want %d\n%.300s", tc.who, tc.row, resp.Status, tc.status, body)
		}
		checkHeaders(t, "/images/"+tc.row, resp)
	}
	for _, p := range []string{"/images/0", "/images/-1", "/images/abc", "/images/99999999999999999999"} {
		if resp, _ := e.do("GET", p, nil, alice); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	// The overview counts only the session's rows.
	for _, tc := range []struct {
		who  string
		c    *http.Cookie
		want string
	}{{"alice", alice, "4"}, {"eve", eve, "1"}, {"bob", bob, "1"}} {
		_, body := e.do("GET", "/", nil, tc.c)
		if n := card(body, "Images"); n != tc.want {
			t.Errorf("%s's overview counts %q images, want %s", tc.who, n, tc.want)
		}
	}
	// The list shows only the session's rows.
	_, body := e.do("GET", "/images?image_type=local_image", nil, bob)
	if strings.Contains(body, "team/web") || !strings.Contains(body, "team/b-secret") {
		t.Errorf("bob's list:\n%s", body)
	}
	_, body = e.do("GET", "/images?image_type=local_image", nil, eve)
	if strings.Contains(body, "team/web") || !strings.Contains(body, "team/ep1-app") {
		t.Errorf("eve's list:\n%s", body)
	}
}

// TestImagesTotalAsTheAPI checks the page's total_num against the API's
// answer to the same query.
func TestImagesTotalAsTheAPI(t *testing.T) {
	e := newEnv(t)
	alice, _ := e.signIn("alice")
	for _, q := range []string{
		"image_type=local_image",
		"image_type=local_image&namespace=team",
		"image_type=local_image&namespace=team&image_name=&scan_status=&has_vul=",
		"image_type=local_image&namespace=team&limit=10&offset=1",
		"image_type=local_image&latest_version=true",
		"image_type=private_image",
	} {
		_, body := e.do("GET", "/images?"+q, nil, alice)
		m := pageTotal.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no total_num:\n%s", q, body)
		}
		v, _ := url.ParseQuery(q)
		api := url.Values{"enterprise_project_id": {"all_granted_eps"}}
		for k, vs := range v {
			if vs[0] != "" {
				api[k] = vs
			}
		}
		if total, _ := e.apiTotal(alice, "/v5/"+projA+"/image/swr-repository?"+api.Encode()); m[1] != fmt.Sprint(total) {
			t.Errorf("%s: page total_num %s, API %d", q, m[1], total)
		}
	}
	// A bad parameter is the API's message, and no list.
	e.checkRefused(alice, "/images", `id="total"`, map[string]string{"limit=0": "invalid parameter limit"})
}

func TestMethods(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/"}, {"POST", "/images"}, {"DELETE", "/images/1"}, {"GET", "/signout"}, {"GET", "/signin"}, {"POST", "/assets/console.css"},
	} {
		resp, _ := e.do(tc.method, tc.path, url.Values{"csrf": {csrf}}, alice)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %s, want 405", tc.method, tc.path, resp.Status)
		}
	}
	for _, p := range []string{"/assets/", "/assets/nope.js"} {
		if resp, _ := e.do("GET", p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	if resp, body := e.do("GET", "/assets/console.css", nil); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/css") || len(body) == 0 {
		t.Errorf("console.css: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}

func TestSignInLandsOnTheOverview(t *testing.T) {
	e := newEnv(t)
	// Signed out on a deep link, the form signs in to the overview.
	resp, body := e.do("GET", "/images?namespace=team", nil)
	pre := cookie(resp, "openhss_signin")
	token := csrfField.FindStringSubmatch(body)[1]
	resp, _ = e.do("POST", "/signin", url.Values{"csrf": {token}, "username": {"alice"}, "password": {"correct-horse"},
		"next": {"https://evil.example/"}}, pre)
	if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != "/" {
		t.Errorf("sign-in: %s to %q, want 303 to /", resp.Status, got)
	}
}

// TestSecureCookieOverTLS: over HTTPS the session and sign-in cookies are
// Secure as well.
func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewTLSServer(e.handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pre := cookie(resp, "openhss_signin")
	if pre == nil || !pre.Secure || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in cookie over TLS: %+v", pre)
	}
	form := url.Values{"csrf": {csrfField.FindStringSubmatch(string(body))[1]}, "username": {"alice"}, "password": {"correct-horse"}}
	req, _ := http.NewRequest("POST", srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := cookie(resp, "openhss_session")
	if resp.StatusCode != http.StatusSeeOther || s == nil || !s.Secure || !s.HttpOnly || s.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie over TLS: %s %+v", resp.Status, s)
	}
}

// TestOverviewListsFailures: a failed scan shows on the overview with its
// reason, counted as failed; another project's failure does not.
func TestOverviewListsFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, f := range []struct {
		project, digest, reason string
	}{
		{projA, fmt.Sprintf("sha256:%064x", 2), "pull <failed> & gave up"},
		{projB, fmt.Sprintf("sha256:%064x", 5), "bob's failure"},
	} {
		if err := e.st.ClearScan(ctx, f.project, f.digest, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: f.reason, ScanTime: 1}); err != nil {
			t.Fatal(err)
		}
	}
	alice, _ := e.signIn("alice")
	_, body := e.do("GET", "/", nil, alice)
	if !strings.Contains(body, `<span class="status-failed">failed</span> — pull &lt;failed&gt; &amp; gave up`) || !strings.Contains(body, "team/api:1.0") {
		t.Errorf("overview lacks the failure:\n%s", body)
	}
	if strings.Contains(body, "bob&#39;s failure") || strings.Contains(body, "b-secret") {
		t.Errorf("overview shows another project's failure")
	}
	if card(body, "Failed") != "1" {
		t.Errorf("failed count is not 1:\n%s", body)
	}
}

func TestScanSelected(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve") // project A, only ep1
	id := func(k string) string { return fmt.Sprint(e.rows[k]) }
	taskCount := func() int64 {
		t.Helper()
		_, n, err := e.st.ListTasks(context.Background(), tasks.Filter{ProjectID: projA, Type: tasks.Scan, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Refusals queue nothing and create no task.
	for _, tc := range []struct {
		name   string
		c      *http.Cookie
		form   url.Values
		status int
	}{
		{"no CSRF token", alice, url.Values{"id": {id("a1")}}, http.StatusForbidden},
		{"another session's token", alice, url.Values{"id": {id("a1")}, "csrf": {eveCSRF}}, http.StatusForbidden},
		{"nothing selected", alice, url.Values{"csrf": {csrf}}, http.StatusBadRequest},
		{"another project's image", alice, url.Values{"id": {id("a1"), id("b1")}, "csrf": {csrf}}, http.StatusNotFound},
		{"an enterprise project not granted", eve, url.Values{"id": {id("ep1"), id("a1")}, "csrf": {eveCSRF}}, http.StatusNotFound},
		{"not an id", alice, url.Values{"id": {"x"}, "csrf": {csrf}}, http.StatusNotFound},
	} {
		resp, body := e.do("POST", "/images/scan", tc.form, tc.c)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d\n%.300s", tc.name, resp.Status, tc.status, body)
		}
		checkHeaders(t, "/images/scan", resp)
	}
	if got := e.scans.all(); len(got) != 0 || taskCount() != 0 {
		t.Fatalf("refused requests queued %v and made %d tasks", got, taskCount())
	}
	// A selection of two rows (one named twice) is one request and one task,
	// and the answer returns to the list it came from.
	resp, _ := e.do("POST", "/images/scan", url.Values{"id": {id("a1"), id("a2"), id("a1")}, "csrf": {csrf},
		"back": {"/images?image_type=local_image&namespace=team"}}, alice)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/images?image_type=local_image&namespace=team" {
		t.Fatalf("scan: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if got := e.scans.all(); !reflect.DeepEqual(got, [][]int64{{e.rows["a1"], e.rows["a2"]}}) || taskCount() != 1 {
		t.Fatalf("scan requests %v, %d tasks; want one request of a1, a2 and one task", got, taskCount())
	}
	// The Tasks page lists the task; another project's does not.
	_, body := e.do("GET", "/tasks", nil, alice)
	if !regexp.MustCompile(`(?s)Scan tasks <span class="count">\(1\)</span>.*<td><a href="/tasks/[A-Z0-9]+">manual-\d{14}</a></td>\s*<td>manual</td>\s*<td class="task-running">running, 0%</td>\s*<td>2</td>`).MatchString(body) {
		t.Errorf("alice's tasks page:\n%s", body)
	}
	bob, _ := e.signIn("bob")
	if _, body := e.do("GET", "/tasks", nil, bob); !strings.Contains(body, `Scan tasks <span class="count">(0)</span>`) {
		t.Errorf("bob's tasks page shows alice's task:\n%s", body)
	}
	// Only a list of this console is a way back.
	resp, _ = e.do("POST", "/images/scan", url.Values{"id": {id("a3")}, "csrf": {csrf}, "back": {"https://evil.example/images?"}}, alice)
	if resp.Header.Get("Location") != "/images" {
		t.Errorf("back to %q", resp.Header.Get("Location"))
	}
}

// TestOverviewVulnData: the overview shows the vulnerability data in use
// as `openhss db status` reads it, and warns when none is imported or the
// last import is older than 7 days.
func TestOverviewVulnData(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		finished time.Time // zero: nothing imported
		want     []string
		warn     string // "" wants no warning
	}{
		{"empty", time.Time{}, []string{"0 records", "No completed import."}, "No vulnerability data is imported"},
		{"fresh", now.Add(-2 * time.Hour), []string{"1 record", "Last import: osv-test", "(2 hours ago), 1 record read.", "<td>Debian:12</td><td>1</td>"}, ""},
		{"stale", now.Add(-10*24*time.Hour - time.Hour), []string{"1 record", "(10 days ago)"}, "last imported 10 days ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if !tc.finished.IsZero() {
				id, _, err := e.st.BeginVulnImport(ctx, vulndb.ImportLog{Source: "osv-test", State: vulndb.ImportRunning, Owner: "test:1",
					Started: tc.finished.Add(-time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.st.PutVulns(ctx, id, []vulndb.StoredVuln{{ID: "DSA-1-1", Modified: tc.finished, Hash: []byte("h"),
					Data: []byte(`{"id":"DSA-1-1"}`), Keys: []vulndb.Key{vulndb.KeyFor("Debian:12", "openssl")}}}); err != nil {
					t.Fatal(err)
				}
				if err := e.st.FinishVulnImport(ctx, vulndb.ImportComplete, tc.finished, id); err != nil {
					t.Fatal(err)
				}
			}
			alice, _ := e.signIn("alice")
			_, body := e.do("GET", "/", nil, alice)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("overview lacks %q:\n%s", w, body)
				}
			}
			warning := regexp.MustCompile(`<p class="warning" role="alert" id="vuln-data-warning">([^<]*)</p>`).FindStringSubmatch(body)
			switch {
			case tc.warn == "" && warning != nil:
				t.Errorf("unexpected warning %q", warning[1])
			case tc.warn != "" && (warning == nil || !strings.Contains(warning[1], tc.warn)):
				t.Errorf("warning %v, want one with %q:\n%s", warning, tc.warn, body)
			}
		})
	}
}
