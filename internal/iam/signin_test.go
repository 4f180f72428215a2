package iam

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// openStores opens n stores on one SQLite file: n servers on one database.
func openStores(t *testing.T, n int) []*sqlite.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "openhss.db")
	var out []*sqlite.Store
	for range n {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out
}

func newServiceOn(t *testing.T, st inventory.Access, o Options) *Service {
	t.Helper()
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	o.Store, o.Box = st, box
	svc, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// signInResult names how a sign-in ended, for the tests' messages.
func signInResult(t *testing.T, svc *Service, name, password string) (string, time.Duration) {
	t.Helper()
	_, _, _, err := svc.SignIn(context.Background(), name, password)
	if after, ok := RetryAfter(err); ok {
		return "throttled", after
	}
	switch {
	case err == nil:
		return "signed in", 0
	case errors.Is(err, ErrUnauthenticated):
		return "wrong", 0
	}
	t.Fatalf("sign-in of %s: %v", name, err)
	return "", 0
}

// TestSignInBudgetSharedByServers: two servers on one database draw on one
// failure budget per name (docs/security.md, Password guessing per user):
// failures on either count on both, a refusal says when the next attempt
// may come, the window refills it for both, and a success on one resets
// the count for both.
func TestSignInBudgetSharedByServers(t *testing.T) {
	stores := openStores(t, 2)
	now := t0
	o := Options{SignInFailures: 4, SignInWindow: 4 * time.Minute, Now: func() time.Time { return now }}
	a, b := newServiceOn(t, stores[0], o), newServiceOn(t, stores[1], o)
	if _, err := a.CreateUser(context.Background(), "p1", "alice", "correct-horse", inventory.Grant{All: true}); err != nil {
		t.Fatal(err)
	}
	want := func(svc *Service, server, password, result string, after time.Duration) {
		t.Helper()
		got, gotAfter := signInResult(t, svc, "alice", password)
		if got != result || gotAfter != after {
			t.Fatalf("on %s with %s: %s (retry after %v), want %s (%v)", server, password, got, gotAfter, result, after)
		}
	}
	want(a, "a", "wrong-guess", "wrong", 0)
	want(a, "a", "wrong-guess", "wrong", 0)
	want(b, "b", "wrong-guess", "wrong", 0)
	want(b, "b", "wrong-guess", "wrong", 0)
	// Four failures, two on each: both refuse, the right password too.
	want(a, "a", "correct-horse", "throttled", time.Minute)
	want(b, "b", "correct-horse", "throttled", time.Minute)

	// A minute refills one attempt, on either server.
	now = now.Add(time.Minute)
	want(b, "b", "wrong-guess", "wrong", 0)
	want(a, "a", "correct-horse", "throttled", time.Minute)

	// A success on a resets the count on b too.
	now = now.Add(time.Minute)
	want(a, "a", "correct-horse", "signed in", 0)
	for range 4 {
		want(b, "b", "wrong-guess", "wrong", 0)
	}
	want(a, "a", "correct-horse", "throttled", time.Minute)
}

// failingBudget is a store whose failure budget cannot be read.
type failingBudget struct{ inventory.Access }

func (failingBudget) TakeSignInFailure(context.Context, string, inventory.SignInBudget, int64) (time.Duration, error) {
	return 0, errors.New("sign_in_failures is unreachable")
}

// TestSignInBudgetUnavailable: when the store cannot take a failure, the
// sign-in and the password change are refused with an error before any
// password is compared: no guess goes uncounted.
func TestSignInBudgetUnavailable(t *testing.T) {
	st := openStores(t, 1)[0]
	ctx := context.Background()
	user, err := newServiceOn(t, st, Options{}).CreateUser(ctx, "p1", "alice", "correct-horse", inventory.Grant{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var compares atomic.Int64
	svc := newServiceOn(t, failingBudget{st}, Options{ComparePassword: func(hash, password []byte) error {
		compares.Add(1)
		return bcrypt.CompareHashAndPassword(hash, password)
	}})
	if _, _, _, err := svc.SignIn(ctx, "alice", "correct-horse"); err == nil || errors.Is(err, ErrThrottled) {
		t.Fatalf("sign-in without a budget: %v, want a server error", err)
	}
	if _, _, err := svc.ChangePassword(ctx, "p1", user.ID, "correct-horse", "battery-staple"); err == nil || errors.Is(err, ErrThrottled) {
		t.Fatalf("password change without a budget: %v, want a server error", err)
	}
	if n := compares.Load(); n != 0 {
		t.Fatalf("%d passwords compared without a budget", n)
	}
}

// TestSignInRefundsUnchecked: an attempt refused before its password was
// compared (every check busy, or the client gone while it waited) gives
// its failure back, even though its context has ended; a wrong password
// does not.
func TestSignInRefundsUnchecked(t *testing.T) {
	st := openStores(t, 1)[0]
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	svc := newServiceOn(t, st, Options{SignInFailures: 1, SignInWindow: time.Hour, Now: func() time.Time { return t0 },
		PasswordChecks: 1, PasswordWait: 50 * time.Millisecond,
		ComparePassword: func(hash, password []byte) error {
			if string(password) == "hold-the-check" {
				close(entered)
				<-release
			}
			return bcrypt.CompareHashAndPassword(hash, password)
		}})
	for _, name := range []string{"alice", "bob"} {
		if _, err := svc.CreateUser(ctx, "p1", name, "correct-horse", inventory.Grant{All: true}); err != nil {
			t.Fatal(err)
		}
	}
	// bob's sign-in holds the one password check.
	done := make(chan error)
	go func() {
		_, _, _, err := svc.SignIn(ctx, "bob", "hold-the-check")
		done <- err
	}()
	<-entered
	if _, _, _, err := svc.SignIn(ctx, "alice", "wrong-guess"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("with every check busy: %v, want ErrThrottled", err)
	}
	gone, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := svc.SignIn(gone, "alice", "wrong-guess"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a client gone while waiting: %v, want its context's error", err)
	}
	close(release)
	if err := <-done; !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("bob's held sign-in: %v", err)
	}
	// alice's one failure is still there, and then spent.
	if got, _ := signInResult(t, svc, "alice", "wrong-guess"); got != "wrong" {
		t.Fatalf("alice after two unchecked attempts: %s, want wrong", got)
	}
	if got, _ := signInResult(t, svc, "alice", "correct-horse"); got != "throttled" {
		t.Fatalf("alice after her one failure: %s, want throttled", got)
	}
}
