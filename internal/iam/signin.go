package iam

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/openhss/openhss/internal/inventory"
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

// signInGuard bounds the CPU that sign-ins can take: a semaphore over the
// password comparisons (bcrypt costs tens of milliseconds of one core each),
// this process's own, and a per-user-name budget of failures, kept in the
// store so that every server on it draws on one count (docs/security.md,
// Password guessing per user).
type signInGuard struct {
	slots   *semaphore.Weighted
	waiting atomic.Int64
	maxWait int64 // waiters beyond this are refused at once
	wait    time.Duration

	store  inventory.Access
	budget inventory.SignInBudget
	now    func() time.Time
}

func newSignInGuard(o Options) *signInGuard {
	return &signInGuard{
		slots:   semaphore.NewWeighted(int64(o.PasswordChecks)),
		maxWait: int64(4 * o.PasswordChecks),
		wait:    o.PasswordWait,
		store:   o.Store,
		budget:  inventory.SignInBudget{Burst: o.SignInFailures, Window: o.SignInWindow},
		now:     o.Now,
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

// takeFailure reserves one failure of the budget of the name whose key is
// key, before its password is checked, so that concurrent guesses, on
// this server or another, cannot overrun the budget; it refuses when the
// name has used its budget, saying when the next attempt may come. A
// store that cannot answer refuses the attempt too: a guess is never let
// through uncounted.
func (g *signInGuard) takeFailure(ctx context.Context, key string) error {
	wait, err := g.store.TakeSignInFailure(ctx, key, g.budget, inventory.Millis(g.now()))
	if err != nil {
		return fmt.Errorf("iam: sign-in failure budget: %w", err)
	}
	if wait > 0 {
		return &ThrottledError{Reason: "too many failed sign-ins for this user name", After: wait}
	}
	return nil
}

// budgetTimeout bounds refundFailure's and succeeded's store calls, which
// outlive the request's context.
const budgetTimeout = 5 * time.Second

// refundFailure gives back a failure taken for an attempt that ended in
// neither success nor a wrong password (the store failed, every password
// check was busy, the client went away). It runs even when ctx is
// cancelled. Its error is dropped: the failure then stays counted, the
// safe side, and refills with the window like any other.
func (g *signInGuard) refundFailure(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budgetTimeout)
	defer cancel()
	_ = g.store.RefundSignInFailure(ctx, key, g.budget)
}

// succeeded refills the budget of key after a right password. Its error
// is dropped, as refundFailure's: the user is signed in; their earlier
// failures stay counted until the window refills them.
func (g *signInGuard) succeeded(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budgetTimeout)
	defer cancel()
	_ = g.store.ForgetSignInFailures(ctx, key)
}
