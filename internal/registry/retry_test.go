package registry_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// sleeper is a RetryPolicy.Sleep that records the waits asked for and
// returns at once; onSleep (if set) runs with the number of the wait.
type sleeper struct {
	mu      sync.Mutex
	waits   []time.Duration
	onSleep func(n int)
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n := len(s.waits)
	s.mu.Unlock()
	if s.onSleep != nil {
		s.onSleep(n)
	}
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// failing answers the first n requests (all of them when n < 0) with
// status and, if set, a Retry-After header; it counts every request.
type failing struct {
	n          int64
	status     int
	retryAfter string
	path       string // only requests to this path (all when "")
	seen       atomic.Int64
}

func (f *failing) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.path != "" && r.URL.Path != f.path {
			next.ServeHTTP(w, r)
			return
		}
		if n := f.seen.Add(1); f.n < 0 || n <= f.n {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"restarting"}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestListRetries: transient failures (connection refused, 5xx, 429) are
// retried with backoff, Retry-After honoured, a bounded number of times;
// permanent ones (401, 404, a Retry-After beyond the cap) are not.
func TestListRetries(t *testing.T) {
	const attempts = 6
	for _, tc := range []struct {
		name string
		// f fails requests in front of the registry (nil: none).
		f *failing
		// down: the registry's port refuses connections until the wait
		// numbered up (never when 0).
		down bool
		up   int
		auth bool // the registry wants a password the connection lacks
		// want: the error (nil: success), the waits, and the requests the
		// failing middleware saw (-1: not checked).
		want      error
		waits     int
		maxWaits  int // when the waits may vary (0: exactly waits)
		minWait   time.Duration
		seen      int64
		transport int64 // requests the client made (0: not checked)
	}{
		{name: "503 three times", f: &failing{n: 3, status: 503}, waits: 3, seen: -1},
		{name: "502 twice", f: &failing{n: 2, status: 502}, waits: 2, seen: -1},
		{name: "429 with Retry-After", f: &failing{n: 3, status: 429, retryAfter: "1"}, waits: 3, minWait: time.Second, seen: -1},
		// Back after two waits of the https probe: the http one may have
		// started by then, and waited too.
		{name: "connection refused, back after two waits", down: true, up: 2, waits: 2, maxWaits: 4, seen: -1},
		{name: "503 for good", f: &failing{n: -1, status: 503}, want: registry.ErrUnreachable,
			waits: attempts - 1, seen: attempts},
		// Refused for good: the https and the http probe of an "http"
		// connection are each tried 6 times.
		{name: "refused for good", down: true, want: registry.ErrUnreachable,
			waits: 2 * (attempts - 1), seen: -1, transport: 2 * attempts},
		{name: "429 asking for an hour", f: &failing{n: -1, status: 429, retryAfter: "3600"}, want: registry.ErrUnreachable,
			seen: 1},
		{name: "404 catalog", f: &failing{n: -1, status: 404, path: "/v2/_catalog"}, want: registry.ErrProtocol, seen: 1},
		{name: "401", auth: true, want: registry.ErrAuth, seen: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ropts []registrytest.Option
			if tc.f != nil {
				ropts = append(ropts, registrytest.WithMiddleware(tc.f.middleware))
			}
			if tc.auth {
				ropts = append(ropts, registrytest.WithBasicAuth("robot", "pw"))
			}
			r := registrytest.New(t, ropts...)
			r.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})
			addr := r.Addr()
			s := &sleeper{}
			if tc.down {
				p := registrytest.NewProxy(t, r.Addr())
				p.Down()
				addr = p.Addr()
				s.onSleep = func(n int) {
					if n == tc.up {
						p.Up()
					}
				}
			}
			ct := &countingTransport{next: registrytestTransport()}
			l := fastLister(t, registry.ListerOptions{Transport: ct, Retry: registry.RetryPolicy{Attempts: attempts, Sleep: s.Sleep}})
			snap, err := l.List(context.Background(), inventory.Registry{ID: 1, Addr: addr, Protocol: "http"}, "")
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v, want success", err)
			case tc.want == nil && len(snap.Repositories) != 1:
				t.Fatalf("repositories = %+v", snap.Repositories)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			waits := s.got()
			if len(waits) < tc.waits || len(waits) > max(tc.waits, tc.maxWaits) {
				t.Errorf("waited %d times (%v), want %d (at most %d)", len(waits), waits, tc.waits, max(tc.waits, tc.maxWaits))
			}
			for i, w := range waits {
				if w < tc.minWait || w > registry.DefaultRetryMaxRetryAfter {
					t.Errorf("wait %d = %v, want between %v and %v", i, w, tc.minWait, registry.DefaultRetryMaxRetryAfter)
				}
				// Exponential: each wait (before jitter) doubles; the waits of
				// the two probes of "refused for good" follow each other.
				if tc.minWait == 0 && tc.transport == 0 && i > 0 && w < waits[i-1] {
					t.Errorf("waits shrink: %v", waits)
				}
			}
			if tc.seen >= 0 && tc.f.seen.Load() != tc.seen {
				t.Errorf("registry saw %d failing requests, want %d", tc.f.seen.Load(), tc.seen)
			}
			if tc.transport > 0 && ct.calls.Load() != tc.transport {
				t.Errorf("client made %d requests, want %d", ct.calls.Load(), tc.transport)
			}
			if tc.want != nil && !strings.HasPrefix(registry.FailReason(err), "REQUEST_API_ERROR") {
				t.Errorf("fail reason = %q", registry.FailReason(err))
			}
		})
	}
}

// TestSyncRidesOutRestart: a sync against a registry that restarts (its
// port refuses connections, then comes back) succeeds and records
// success, instead of failing the connection.
func TestSyncRidesOutRestart(t *testing.T) {
	env := newSyncEnv(t)
	r := registrytest.New(t)
	r.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})
	p := registrytest.NewProxy(t, r.Addr())
	reg := env.addRegistry(t, p.Addr(), "", "")
	s := &sleeper{onSleep: func(n int) {
		if n == 3 {
			p.Up()
		}
	}}
	syncer := newSyncer(t, registry.SyncerOptions{Store: env.store, Queue: env.store, Box: env.box,
		Lister: fastLister(t, registry.ListerOptions{Retry: registry.RetryPolicy{Sleep: s.Sleep}}), Logger: slog.New(slog.DiscardHandler)})
	p.Down()
	res, err := syncer.SyncRegistry(context.Background(), reg)
	if err != nil || res.Err != nil {
		t.Fatalf("sync: %v %v", err, res.Err)
	}
	got, err := env.store.GetRegistry(context.Background(), project, reg.ID)
	if err != nil || got.Status != inventory.RegistryOK || len(env.rows(t)) != 1 {
		t.Fatalf("registry after sync = %+v (%v), rows %v", got, err, env.rows(t))
	}
}
