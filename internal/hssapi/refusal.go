package hssapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// A refusal is an error answer (4xx) to a request that has not
// authenticated: no credentials, bad ones, a wrong password, an unknown
// route. Without a bound, anyone who can reach the port chooses how much
// work and how many log lines the server spends on them, so refusals are
// limited per client address and in total, and their log lines are
// sampled (docs/security.md).

// reqState is what the middleware learns about a request as it goes.
type reqState struct {
	authed  bool   // a credential was verified
	refused bool   // the answer was a refusal
	reason  string // why IAM refused, for the (sampled) log line
}

const reqStateKey ctxKey = requestIDKey + 1

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(reqStateKey).(*reqState)
	return st
}

// refusalGuard holds the refusal budgets and the log sampler.
type refusalGuard struct {
	perIP  *limiter // nil: no per-address bound
	global *limiter // nil: no global bound
	logs   *sampler // nil: every refusal logged
}

func newRefusalGuard(cfg Config) *refusalGuard {
	g := &refusalGuard{}
	if cfg.RefusalLimit > 0 {
		g.perIP = newLimiter(cfg.RefusalLimit, time.Minute, cfg.Now)
	}
	if cfg.RefusalBudget > 0 {
		g.global = newLimiter(cfg.RefusalBudget, time.Minute, cfg.Now)
	}
	if cfg.RefusalLogLimit > 0 {
		g.logs = &sampler{max: cfg.RefusalLogLimit, interval: time.Minute, now: cfg.Now}
	}
	return g
}

// blocked reports whether addr has used up its refusals, and for how long:
// such a client is answered 429 before any authentication work.
func (g *refusalGuard) blocked(addr string) (bool, time.Duration) {
	if g.perIP == nil {
		return false, 0
	}
	ok, wait := g.perIP.check("addr:" + addr)
	return !ok, wait
}

// charge counts one refusal of addr; past either budget the refusal is
// answered 429 instead, for as long as the longer wait.
func (g *refusalGuard) charge(addr string) (bool, time.Duration) {
	// The global budget first: past it the refusal is a 429 whatever the
	// address, and a flood from many addresses adds no per-address
	// entries.
	if g.global != nil {
		if ok, wait := g.global.allow("all"); !ok {
			return false, wait
		}
	}
	if g.perIP != nil {
		return g.perIP.allow("addr:" + addr)
	}
	return true, 0
}

// sampler lets the first max events of each interval through; it counts
// the rest and reports their number once the next interval begins, so a
// flood costs a bounded number of log lines.
type sampler struct {
	max      int
	interval time.Duration
	now      func() time.Time

	mu         sync.Mutex
	start      time.Time
	logged     int
	suppressed int
}

// admit reports whether to log this event and, at the first event of a new
// interval, how many events the previous one suppressed.
func (s *sampler) admit() (ok bool, suppressedBefore int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.start.IsZero() || now.Sub(s.start) >= s.interval || now.Before(s.start) {
		suppressedBefore = s.suppressed
		s.start, s.logged, s.suppressed = now, 0, 0
	}
	if s.logged >= s.max {
		s.suppressed++
		return false, suppressedBefore
	}
	s.logged++
	return true, suppressedBefore
}

// logRefusal writes the access-log line of a refused request, if the
// sampler lets it through, preceded by the previous interval's count of
// suppressed lines.
func (s *server) logRefusal(ctx context.Context, attrs []slog.Attr) {
	if s.refusals.logs == nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "http request refused", attrs...)
		return
	}
	ok, suppressed := s.refusals.logs.admit()
	if suppressed > 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "suppressed refusals",
			slog.Int("count", suppressed),
			slog.Duration("interval", s.refusals.logs.interval))
	}
	if ok {
		s.log.LogAttrs(ctx, slog.LevelInfo, "http request refused", attrs...)
	}
}

// noteRefusal is called as an error answer is written: an error to an
// unauthenticated request is a refusal, charged to its address and to the
// global budget. It returns the error to send, a 429 once a budget is spent.
func (s *server) noteRefusal(w http.ResponseWriter, r *http.Request, e *apiError) *apiError {
	st := stateOf(r.Context())
	if st == nil || st.authed || e.Status < 400 || e.Status >= 500 || st.refused {
		return e
	}
	st.refused = true
	if e.Status == http.StatusTooManyRequests {
		return e
	}
	if ok, wait := s.refusals.charge(clientHost(r)); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		return errRateLimited
	}
	return e
}
