package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Defaults of RetryPolicy: 6 tries, 0.5s, 1s, 2s, 4s and 8s apart (about
// 15s in all), enough to ride out a registry restart without holding a
// worker for long when a registry is really gone.
const (
	DefaultRetryAttempts      = 6
	DefaultRetryBackoff       = 500 * time.Millisecond
	DefaultRetryMaxBackoff    = 8 * time.Second
	DefaultRetryMaxRetryAfter = 30 * time.Second
)

// RetryPolicy says how a registry request that failed for a transient
// reason is tried again. The zero value is the default policy.
//
// Transient: no connection (refused, reset, closed before the answer), a
// timeout, a temporary DNS failure, and the answers 408, 429, 500, 502,
// 503 and 504. Anything else fails at once: 401, 403, 404 and other 4xx,
// TLS and certificate errors, unknown hosts, a refused plain-http
// downgrade, an address the network policy denies, a response over a size
// limit. Only GET and HEAD requests without a body are retried: they are
// idempotent and need no body replayed.
type RetryPolicy struct {
	// Attempts is the most tries of one request, the first included
	// (default DefaultRetryAttempts; 1 disables retries).
	Attempts int
	// Backoff is the wait before the second try; it doubles for each
	// further one up to MaxBackoff, plus up to 10% jitter (defaults
	// DefaultRetryBackoff and DefaultRetryMaxBackoff).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After (of a 429 or 503) waited
	// for; the wait is the larger of Retry-After and the backoff. A
	// registry asking for a longer wait gets no more tries: its answer is
	// returned (default DefaultRetryMaxRetryAfter).
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends (tests make it instant). Default: a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock Retry-After dates are read against (default
	// time.Now).
	Now func() time.Time
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultRetryAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultRetryBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultRetryMaxBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultRetryMaxRetryAfter
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewRetryTransport returns a RoundTripper that retries transient failures
// of next as p says. Use it with RemoteNoRetry, so that
// go-containerregistry does not retry on top of it: its own retries skip
// refused connections and ignore Retry-After.
func NewRetryTransport(next http.RoundTripper, p RetryPolicy) http.RoundTripper {
	return &retryTransport{next: next, p: p.withDefaults()}
}

// RemoteNoRetry are the go-containerregistry options that turn its retries
// off (a RetryTransport below it does them).
func RemoteNoRetry() []remote.Option {
	return []remote.Option{
		// One step: the request is made once (zero steps would make none).
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
}

type retryTransport struct {
	next http.RoundTripper
	p    RetryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody)
	backoff := t.p.Backoff
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if !replayable || attempt >= t.p.Attempts || req.Context().Err() != nil {
			return resp, err
		}
		var wait time.Duration
		switch {
		case err != nil:
			if !transientError(req.Context(), err) {
				return nil, err
			}
			wait = jitter(backoff)
		case retryStatus(resp.StatusCode):
			wait = jitter(backoff)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), t.p.Now()); ok {
				if ra > t.p.MaxRetryAfter {
					return resp, nil
				}
				wait = max(wait, ra)
			}
		default:
			return resp, nil
		}
		// Not worth a wait the request's own deadline would cut short.
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < wait {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := t.p.Sleep(req.Context(), wait); serr != nil {
			return nil, serr
		}
		backoff = min(backoff*2, t.p.MaxBackoff)
	}
}

func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/10+1)
}

func retryStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(365*24*time.Hour/time.Second) {
			s = int64(365 * 24 * time.Hour / time.Second) // no overflow
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// transientError is the allow-list of errors worth another try: a
// registry restarting refuses or drops connections and times out; every
// other failure (TLS, unknown host, a denied address, a refused
// downgrade, a size limit) would fail the same way again.
func transientError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false // the caller gave up or ran out of time
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// A per-request deadline below this transport (connTransport) ended
	// while the caller's context is still live: a timeout of this try.
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}
