package iam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// passwordEnv is a Service over a real SQLite file with alice and bob in
// project p1 and carol in p2, each signed in twice.
type passwordEnv struct {
	*Service
	users  map[string]inventory.User
	tokens map[string][]string
}

const pwP1, pwP2 = "project-one", "project-two"

func newPasswordEnv(t *testing.T, failures int) *passwordEnv {
	t.Helper()
	ctx := context.Background()
	svc := newTestServiceWith(t, Options{SignInFailures: failures, SignInWindow: time.Hour}).Service
	var err error
	e := &passwordEnv{Service: svc, users: map[string]inventory.User{}, tokens: map[string][]string{}}
	for _, u := range []struct{ project, name string }{{pwP1, "alice"}, {pwP1, "bob"}, {pwP2, "carol"}} {
		e.users[u.name], err = svc.CreateUser(ctx, u.project, u.name, "correct-horse", inventory.Grant{All: true})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			tok, _, _, err := svc.SignIn(ctx, u.name, "correct-horse")
			if err != nil {
				t.Fatal(err)
			}
			e.tokens[u.name] = append(e.tokens[u.name], tok)
		}
	}
	return e
}

// live reports which of name's sign-in tokens still authenticate.
func (e *passwordEnv) live(t *testing.T, name string) []bool {
	t.Helper()
	var out []bool
	for _, tok := range e.tokens[name] {
		_, err := e.AuthenticateToken(context.Background(), tok)
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			t.Fatal(err)
		}
		out = append(out, err == nil)
	}
	return out
}

// signsIn reports whether name signs in with password.
func (e *passwordEnv) signsIn(t *testing.T, name, password string) bool {
	t.Helper()
	_, _, _, err := e.SignIn(context.Background(), name, password)
	if err != nil && !errors.Is(err, ErrUnauthenticated) {
		t.Fatal(err)
	}
	return err == nil
}

func allLive(b []bool, want bool) bool {
	for _, x := range b {
		if x != want {
			return false
		}
	}
	return true
}

// TestChangePassword: a user's change of their own password checks the
// current one and the creation rule, changes nothing when refused, and on
// success revokes every token of the user (and no one else's) and returns
// a new one; the old password no longer signs in, the new one does
// (docs/security.md, Passwords).
func TestChangePassword(t *testing.T) {
	e := newPasswordEnv(t, 0)
	ctx := context.Background()
	alice := e.users["alice"]
	for _, tc := range []struct {
		name, project, current, next string
		want                         error
	}{
		{"too short", pwP1, "correct-horse", "short", ErrInvalid},
		{"too long", pwP1, "correct-horse", string(make([]byte, MaxPasswordLen+1)), ErrInvalid},
		{"same as the current one", pwP1, "correct-horse", "correct-horse", ErrInvalid},
		{"wrong current", pwP1, "wrong-horse", "battery-staple", ErrWrongPassword},
		{"no current", pwP1, "", "battery-staple", ErrWrongPassword},
		{"another project's id", pwP2, "correct-horse", "battery-staple", inventory.ErrNotFound},
	} {
		if _, _, err := e.ChangePassword(ctx, tc.project, alice.ID, tc.current, tc.next); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if !allLive(e.live(t, "alice"), true) || !e.signsIn(t, "alice", "correct-horse") {
		t.Fatal("a refused change ended a session or changed the password")
	}

	token, tok, err := e.ChangePassword(ctx, pwP1, alice.ID, "correct-horse", "battery-staple")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.AuthenticateToken(ctx, token); err != nil || p.UserID != alice.ID || tok.UserID != alice.ID {
		t.Fatalf("the new token: %+v, %v", p, err)
	}
	if got := e.live(t, "alice"); !allLive(got, false) {
		t.Errorf("alice's earlier tokens live after the change: %v", got)
	}
	if !allLive(e.live(t, "bob"), true) || !allLive(e.live(t, "carol"), true) {
		t.Error("alice's change ended another user's session")
	}
	if e.signsIn(t, "alice", "correct-horse") || !e.signsIn(t, "alice", "battery-staple") {
		t.Error("after the change: the old password should not sign in, the new one should")
	}
}

// TestChangePasswordSharesSignInBudget: wrong current passwords draw on
// the sign-in failure budget of the user's name, so the form is no way
// around sign-in's limit: past it both the form (even with the right
// password) and sign-in are refused with ErrThrottled, nothing changed.
func TestChangePasswordSharesSignInBudget(t *testing.T) {
	e := newPasswordEnv(t, 3)
	ctx := context.Background()
	alice := e.users["alice"]
	for i := range 3 {
		if _, _, err := e.ChangePassword(ctx, pwP1, alice.ID, "wrong-horse", "battery-staple"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("wrong current #%d: %v", i+1, err)
		}
	}
	if _, _, err := e.ChangePassword(ctx, pwP1, alice.ID, "correct-horse", "battery-staple"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("change past the budget: %v, want ErrThrottled", err)
	}
	if _, _, _, err := e.SignIn(ctx, "alice", "correct-horse"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("sign-in past the budget spent by the form: %v, want ErrThrottled", err)
	}
	if !allLive(e.live(t, "alice"), true) {
		t.Fatal("refused changes ended a session")
	}
	// bob's budget is his own.
	if _, _, err := e.ChangePassword(ctx, pwP1, e.users["bob"].ID, "correct-horse", "battery-staple"); err != nil {
		t.Fatalf("bob's change: %v", err)
	}
}

// TestSetUserPassword: an admin's reset (or the CLI's, by 0) of another
// user of the project: the creation rule, not one's own, not another
// project's user; on success every token of the user ends and the new
// password signs in.
func TestSetUserPassword(t *testing.T) {
	e := newPasswordEnv(t, 0)
	ctx := context.Background()
	alice, bob, carol := e.users["alice"], e.users["bob"], e.users["carol"]
	for _, tc := range []struct {
		name, project string
		id, by        int64
		password      string
		want          error
	}{
		{"own password", pwP1, alice.ID, alice.ID, "battery-staple", ErrSelf},
		{"too short", pwP1, bob.ID, alice.ID, "short", ErrInvalid},
		{"another project's user", pwP1, carol.ID, alice.ID, "battery-staple", inventory.ErrNotFound},
	} {
		if err := e.SetUserPassword(ctx, tc.project, tc.id, tc.by, tc.password); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		if !allLive(e.live(t, name), true) || !e.signsIn(t, name, "correct-horse") {
			t.Fatalf("a refused reset changed %s", name)
		}
	}
	if err := e.SetUserPassword(ctx, pwP1, bob.ID, alice.ID, "battery-staple"); err != nil {
		t.Fatal(err)
	}
	if !allLive(e.live(t, "bob"), false) || !allLive(e.live(t, "alice"), true) {
		t.Errorf("after bob's reset: bob's tokens %v (want none live), alice's %v", e.live(t, "bob"), e.live(t, "alice"))
	}
	if e.signsIn(t, "bob", "correct-horse") || !e.signsIn(t, "bob", "battery-staple") {
		t.Error("after the reset: the old password should not sign in, the new one should")
	}
	if err := e.SetUserPassword(ctx, pwP2, carol.ID, 0, "battery-staple"); err != nil {
		t.Fatalf("the CLI's reset (by 0): %v", err)
	}
}
