package iam

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrThrottled refuses a sign-in without checking its password: the server's
// password checks are all busy, or the user name has failed too often
// lately. The HTTP layer answers 429 with Retry-After (see RetryAfter).
var ErrThrottled = errors.New("too many sign-in attempts")

// ThrottledError is the error wrapping ErrThrottled; After is when the
// caller may try again.
type ThrottledError struct {
	Reason string
	After  time.Duration
}

func (e *ThrottledError) Error() string { return ErrThrottled.Error() + ": " + e.Reason }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfter returns how long a caller refused with err should wait, and
// whether err is such a refusal.
func RetryAfter(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.After, true
	}
	return 0, false
}

// Defaults of the sign-in guard (Options).
const (
	// DefaultPasswordWait is how long a sign-in waits for a free password
	// check before it is refused: long enough to smooth a burst, short
	// enough that waiters never pile up.
	DefaultPasswordWait = 500 * time.Millisecond
	// DefaultSignInFailures failed sign-ins per user name are allowed per
	// DefaultSignInWindow; further ones are refused without a password
	// check until the window has refilled.
	DefaultSignInFailures = 10
	DefaultSignInWindow   = 15 * time.Minute
)

// DefaultPasswordChecks is the default bound on concurrent bcrypt
// comparisons: half the CPUs Go may use (at least one), so that sign-ins
// can never take the CPU the API and the workers need.
func DefaultPasswordChecks() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// maxFailureKeys bounds the per-name failure table; unknown names count
// too, so an attacker chooses how many keys exist.
const maxFailureKeys = 100_000

// signInGuard bounds the CPU that sign-ins can take: a semaphore over the
// password comparisons (bcrypt costs tens of milliseconds of one core each)
// and a per-user-name budget of failures.
type signInGuard struct {
	slots    *semaphore.Weighted
	waiting  atomic.Int64
	maxWait  int64 // waiters beyond this are refused at once
	wait     time.Duration
	failures *failureTable
}

func newSignInGuard(o Options) *signInGuard {
	return &signInGuard{
		slots:    semaphore.NewWeighted(int64(o.PasswordChecks)),
		maxWait:  int64(4 * o.PasswordChecks),
		wait:     o.PasswordWait,
		failures: newFailureTable(o.SignInFailures, o.SignInWindow, o.Now),
	}
}

// compare runs one password comparison under the concurrency bound, or
// refuses with a ThrottledError when no slot frees up in time.
// It reports whether password matches hash.
func (g *signInGuard) compare(ctx context.Context, cmp func(hash, password []byte) error, hash, password []byte) (bool, error) {
	if g.waiting.Add(1) > g.maxWait {
		g.waiting.Add(-1)
		return false, &ThrottledError{Reason: "every password check is busy", After: time.Second}
	}
	wctx, cancel := context.WithTimeout(ctx, g.wait)
	err := g.slots.Acquire(wctx, 1)
	cancel()
	g.waiting.Add(-1)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("iam: sign-in: %w", ctx.Err())
		}
		return false, &ThrottledError{Reason: "every password check is busy", After: time.Second}
	}
	defer g.slots.Release(1)
	return cmp(hash, password) == nil, nil
}

// failureTable is a token bucket of failures per user name: burst failures
// at once, refilled at burst per window. A sign-in takes a token before its
// password is checked, so concurrent guesses cannot overrun the budget; a
// success refills the bucket.
type failureTable struct {
	mu      sync.Mutex
	burst   float64
	perSec  float64
	window  time.Duration
	now     func() time.Time
	buckets map[string]*failBucket
}

type failBucket struct {
	tokens float64
	last   time.Time
}

func newFailureTable(burst int, window time.Duration, now func() time.Time) *failureTable {
	return &failureTable{
		burst:   float64(burst),
		perSec:  float64(burst) / window.Seconds(),
		window:  window,
		now:     now,
		buckets: map[string]*failBucket{},
	}
}

// take reserves one failure for name; it refuses when the name has used
// its budget, saying when the next attempt may come.
func (f *failureTable) take(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	b, ok := f.buckets[name]
	if !ok {
		f.makeRoom(now)
		b = &failBucket{tokens: f.burst, last: now}
		f.buckets[name] = b
	}
	f.refill(b, now)
	if b.tokens < 1 {
		after := time.Duration((1 - b.tokens) / f.perSec * float64(time.Second))
		return &ThrottledError{Reason: "too many failed sign-ins for this user name", After: after}
	}
	b.tokens--
	return nil
}

// succeeded forgets the failures of name.
func (f *failureTable) succeeded(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.buckets, name)
}

// refund gives back a token taken for an attempt that ended in neither
// success nor a wrong password (the store failed, the request was bad).
func (f *failureTable) refund(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.buckets[name]; ok {
		b.tokens = min(f.burst, b.tokens+1)
	}
}

// makeRoom keeps the table under maxFailureKeys: full buckets are dropped
// first (a new bucket starts full anyway), then arbitrary ones. Reaching
// the second step takes more sign-ins than the password-check bound lets
// through in a window.
func (f *failureTable) makeRoom(now time.Time) {
	if len(f.buckets) < maxFailureKeys {
		return
	}
	for k, b := range f.buckets {
		if f.refill(b, now) >= f.burst {
			delete(f.buckets, k)
		}
	}
	for k := range f.buckets {
		if len(f.buckets) < maxFailureKeys {
			break
		}
		delete(f.buckets, k)
	}
}

func (f *failureTable) refill(b *failBucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(f.burst, b.tokens+d.Seconds()*f.perSec)
		b.last = now
	}
	return b.tokens
}
