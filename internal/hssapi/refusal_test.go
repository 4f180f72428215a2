package hssapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// countingCompare is the password comparer of guardEnv: the real bcrypt
// comparison, counted, with the peak number running at once recorded.
type countingCompare struct {
	calls, running, peak atomic.Int64
}

func (c *countingCompare) compare(hash, password []byte) error {
	c.calls.Add(1)
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return bcrypt.CompareHashAndPassword(hash, password)
}

// guardEnv is the API handler over a real SQLite store and IAM, called
// directly so that each request can come from its own address.
type guardEnv struct {
	h    http.Handler
	cmp  *countingCompare
	logs *syncBuffer
	skew atomic.Int64
	now  time.Time
}

func newGuardEnv(t *testing.T, iamOpts iam.Options, cfg hssapi.Config) *guardEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &guardEnv{cmp: &countingCompare{}, logs: &syncBuffer{}, now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now.Add(time.Duration(e.skew.Load())) }
	iamOpts.Now = clock
	iamOpts.ComparePassword = e.cmp.compare
	iamOpts.Store, iamOpts.Box = st, box
	svc, err := iam.New(iamOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, projA, "alice", "correct-horse", inventory.Grant{All: true}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	rt := registry.NewTransport(netpolicy.Default())
	cfg.Store, cfg.IAM, cfg.Box, cfg.Now = st, svc, box, clock
	cfg.Sync = newSyncer(t, st, box, rt, quiet)
	cfg.Scans = newRequester(t, newScanService(t, st, box, rt, quiet), st, 0, 0)
	cfg.ScanResults, cfg.Findings = st, st
	cfg.Logger = slog.New(slog.NewJSONHandler(e.logs, nil))
	e.h = newHandler(t, cfg)
	return e
}

func (e *guardEnv) advance(d time.Duration) { e.skew.Add(int64(d)) }

// signIn posts a Keystone password request from addr.
func (e *guardEnv) signIn(addr, user, password string) *httptest.ResponseRecorder {
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q}}},"scope":{"project":{"id":%q}}}}`,
		user, password, projA)
	r := httptest.NewRequest(http.MethodPost, "/v3/auth/tokens", strings.NewReader(body))
	r.RemoteAddr = addr + ":40000"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *guardEnv) get(addr, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func addrN(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }

// wantRetryAfter checks that a 429 says when to come back.
func wantRetryAfter(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	v := w.Header().Get("Retry-After")
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		t.Fatalf("429 with Retry-After %q; want whole seconds >= 1", v)
	}
}

// TestPasswordChecksBounded sends 64 concurrent sign-ins from 64 addresses:
// the bcrypt comparisons running at once never exceed the bound, and those
// that find no free check are answered 429 with Retry-After rather than
// queued.
func TestPasswordChecksBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
		user  string
	}{
		{"known user", 1, "alice"},
		{"unknown user", 2, "mallory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGuardEnv(t, iam.Options{PasswordChecks: tc.bound}, hssapi.Config{})
			const n = 64
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses = map[int]int{}
				missing  atomic.Int64
			)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					w := e.signIn(addrN(i), tc.user, "wrong-password")
					if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
						missing.Add(1)
					}
					mu.Lock()
					statuses[w.Code]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if peak := e.cmp.peak.Load(); peak > int64(tc.bound) {
				t.Fatalf("%d password comparisons ran at once; the bound is %d", peak, tc.bound)
			}
			if statuses[401]+statuses[429] != n || int64(statuses[401]) != e.cmp.calls.Load() {
				t.Fatalf("statuses %v, %d comparisons: want only 401 (one comparison each) and 429", statuses, e.cmp.calls.Load())
			}
			if missing.Load() > 0 {
				t.Fatalf("%d answers 429 without Retry-After", missing.Load())
			}
		})
	}
}

// TestSignInLockoutPerUserName fails a name's budget from one address: the
// next attempt, from any address and even with the right password, is 429
// without a password comparison. Unknown names are compared (against a
// dummy hash) and counted alike. The window refilling lets the user in, and
// a success resets the count.
func TestSignInLockoutPerUserName(t *testing.T) {
	const failures = 3
	for _, tc := range []struct {
		user, password string
		known          bool
	}{
		{"alice", "correct-horse", true},
		{"mallory", "anything-at-all", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			e := newGuardEnv(t, iam.Options{SignInFailures: failures, SignInWindow: time.Hour}, hssapi.Config{})
			for i := range failures {
				if w := e.signIn("192.0.2.1", tc.user, "wrong-guess"); w.Code != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d %s", i, w.Code, w.Body)
				}
			}
			if got := e.cmp.calls.Load(); got != failures {
				t.Fatalf("%d comparisons for %d failures: unknown names must cost the same as known ones", got, failures)
			}
			for _, addr := range []string{"192.0.2.1", "198.51.100.7", "203.0.113.9"} {
				w := e.signIn(addr, tc.user, tc.password)
				if w.Code != http.StatusTooManyRequests {
					t.Fatalf("after %d failures, from %s: %d %s; want 429", failures, addr, w.Code, w.Body)
				}
				wantRetryAfter(t, w)
			}
			if got := e.cmp.calls.Load(); got != failures {
				t.Fatalf("a locked-out name cost %d comparisons", got-failures)
			}
			// Another name is unaffected.
			if w := e.signIn("192.0.2.1", "bob", "wrong-guess"); w.Code != http.StatusUnauthorized {
				t.Fatalf("another name: %d", w.Code)
			}
			if !tc.known {
				return
			}
			// One failure's worth of the window refills one attempt.
			e.advance(time.Hour / failures)
			if w := e.signIn("203.0.113.9", tc.user, tc.password); w.Code != http.StatusCreated {
				t.Fatalf("after the window: %d %s", w.Code, w.Body)
			}
			// A success resets the count: the full budget is back.
			for i := range failures {
				if w := e.signIn("192.0.2.1", tc.user, "wrong-guess"); w.Code != http.StatusUnauthorized {
					t.Fatalf("failure %d after a success: %d", i, w.Code)
				}
			}
		})
	}
}

// TestRefusalsBoundedAndSampled sends 1,000 unauthenticated requests, each
// from its own address, to an API route and an unknown one: the log gets at
// most the sampler's lines, then one "suppressed refusals" line when the
// next minute begins. Past the global budget, refusals are 429 with
// Retry-After; past its own budget, an address is 429 at once.
func TestRefusalsBoundedAndSampled(t *testing.T) {
	const logLimit, budget, perAddr = 10, 500, 5
	e := newGuardEnv(t, iam.Options{}, hssapi.Config{RefusalLogLimit: logLimit, RefusalBudget: budget, RefusalLimit: perAddr})
	statuses := map[int]int{}
	for i := range 1000 {
		target := "/v5/" + projA + "/image/swr-repository?image_type=private_image"
		if i%2 == 1 {
			target = "/no/such/route"
		}
		w := e.get(addrN(i), target)
		statuses[w.Code]++
		if w.Code == http.StatusTooManyRequests {
			wantRetryAfter(t, w)
		}
	}
	if statuses[401]+statuses[404] != budget || statuses[429] != 1000-budget {
		t.Fatalf("statuses %v: want %d refusals within the budget, the rest 429", statuses, budget)
	}
	lines := strings.Count(e.logs.String(), "\n")
	if lines > logLimit {
		t.Fatalf("1000 refusals wrote %d log lines; the sampler allows %d:\n%s", lines, logLimit, e.logs.String())
	}
	e.advance(time.Minute)
	e.get(addrN(5000), "/no/such/route")
	if !strings.Contains(e.logs.String(), `"msg":"suppressed refusals","count":990`) {
		t.Fatalf("no summary of the 990 suppressed lines:\n%s", e.logs.String())
	}

	// One address past its own budget is refused before authentication.
	for i := range perAddr {
		if w := e.get("192.0.2.200", "/no/such/route"); w.Code != http.StatusNotFound {
			t.Fatalf("refusal %d: %d", i, w.Code)
		}
	}
	w := e.get("192.0.2.200", "/healthz")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("an address past its refusals got %d", w.Code)
	}
	wantRetryAfter(t, w)
}

// TestRateLimitRetryAfter: the per-credential limit's 429 says when the
// bucket refills.
func TestRateLimitRetryAfter(t *testing.T) {
	e := newEnv(t, func(c *hssapi.Config) { c.RateLimit = 2 })
	target := listPath + "?image_type=private_image"
	for range 2 {
		e.do(t, reqSpec{Target: target})
	}
	res := e.do(t, reqSpec{Target: target})
	wantError(t, res, 429, "APIGW.0308")
	if got := res.Header.Get("Retry-After"); got != "30" {
		t.Fatalf("Retry-After %q; want 30 (one call of 2 per minute)", got)
	}
}

// TestRefusalLimitPerIPv6Prefix: the addresses of one IPv6 /64 share one
// refusal budget, so rotating addresses inside it gains nothing; another
// /64, and an IPv4 client, have their own.
func TestRefusalLimitPerIPv6Prefix(t *testing.T) {
	e := newGuardEnv(t, iam.Options{}, hssapi.Config{RefusalLimit: 2})
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"[2001:db8::1]", http.StatusNotFound},
		{"[2001:db8::2]", http.StatusNotFound},
		{"[2001:db8::ffff:3]", http.StatusTooManyRequests},
		{"[2001:db8:0:1::1]", http.StatusNotFound},
		{"192.0.2.1", http.StatusNotFound},
		{"[::ffff:192.0.2.1]", http.StatusNotFound}, // the same IPv4 client, mapped
		{"192.0.2.1", http.StatusTooManyRequests},
	} {
		if w := e.get(tc.addr, "/no/such/route"); w.Code != tc.want {
			t.Fatalf("%s: %d, want %d", tc.addr, w.Code, tc.want)
		}
	}
}
