package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// trySignIn signs user in with password through the sign-in form; the
// session cookie, or nil when refused.
func (e *env) trySignIn(user, password string) *http.Cookie {
	e.t.Helper()
	resp, body := e.do("GET", "/", nil)
	m, pre := csrfField.FindStringSubmatch(body), cookie(resp, "openhss_signin")
	if m == nil || pre == nil {
		e.t.Fatalf("sign-in form without its token or cookie:\n%s", body)
	}
	resp, _ = e.do("POST", "/signin", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}}, pre)
	if s := cookie(resp, "openhss_session"); resp.StatusCode == http.StatusSeeOther && s != nil && s.Value != "" {
		return &http.Cookie{Name: s.Name, Value: s.Value}
	}
	return nil
}

// live reports whether session is signed in: Settings shows its Account
// part, not the sign-in form.
func (e *env) live(session *http.Cookie) bool {
	e.t.Helper()
	_, body := e.do("GET", "/settings", nil, session)
	return strings.Contains(body, `id="account"`)
}

// TestChangeOwnPassword: any role — here a viewer — changes their own
// password on Settings with the current one and the new one twice. A
// refusal (forged CSRF, a confirmation that differs, a wrong current
// password, a too short new one) changes nothing; a success ends every
// other session of the user and re-issues this one (a new cookie, whose
// CSRF token works), and only the new password signs in
// (docs/console.md, Settings; docs/security.md, Passwords).
func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t)
	e.userWithRole("vic", inventory.RoleViewer)
	vic, csrf := e.signIn("vic")
	other, otherCSRF := e.signIn("vic")
	alice, _ := e.signIn("alice")
	_, body := e.do("GET", "/settings", nil, vic)
	checkShows(t, "the viewer's Settings", body, []string{`<section id="account">`, `action="/settings/password"`, `name="current_password"`,
		`name="confirm_password"`, "Signed in as vic (viewer)."}, []string{`/password" class="inline"`})

	form := func(current, next, confirm string) url.Values {
		return url.Values{"csrf": {csrf}, "current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
	}
	e.checkCSRFRefused(vic, otherCSRF, url.Values{"current_password": {"correct-horse"}, "new_password": {"battery-staple"},
		"confirm_password": {"battery-staple"}}, "/settings/password")
	before := e.state()
	for _, tc := range []struct {
		name string
		form url.Values
		code int
		msg  string
	}{
		{"confirmation differs", form("correct-horse", "battery-staple", "battery-stable"), http.StatusBadRequest, "the new password and its confirmation differ"},
		{"wrong current password", form("wrong-horse", "battery-staple", "battery-staple"), http.StatusBadRequest, "The current password is wrong. Nothing was changed."},
		{"too short", form("correct-horse", "short", "short"), http.StatusBadRequest, "password must be 8 to 72 bytes"},
	} {
		resp, body := e.do("POST", "/settings/password", tc.form, vic)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) || cookie(resp, "openhss_session") != nil {
			t.Errorf("%s: %s, want %d with %q and no new session\n%.400s", tc.name, resp.Status, tc.code, tc.msg, body)
		}
		if strings.Contains(body, "battery-st") || strings.Contains(body, "wrong-horse") {
			t.Errorf("%s: the answer shows a password", tc.name)
		}
	}
	if after := e.state(); after != before || !e.live(vic) || !e.live(other) {
		t.Fatalf("refused changes changed something: sessions live %v %v\n%s\nwas\n%s", e.live(vic), e.live(other), after, before)
	}

	resp, body := e.do("POST", "/settings/password", form("correct-horse", "battery-staple", "battery-staple"), vic)
	fresh := cookie(resp, "openhss_session")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your password was changed.") || fresh == nil || fresh.Value == vic.Value ||
		!fresh.HttpOnly || fresh.SameSite != http.SameSiteStrictMode {
		t.Fatalf("change: %s, new cookie %+v\n%.600s", resp.Status, fresh, body)
	}
	fresh = &http.Cookie{Name: fresh.Name, Value: fresh.Value}
	if e.live(vic) || e.live(other) {
		t.Errorf("sessions from before the change are live: this one %v, the other %v", e.live(vic), e.live(other))
	}
	if !e.live(fresh) || !e.live(alice) {
		t.Fatalf("after the change: the re-issued session live %v, another user's %v; want both", e.live(fresh), e.live(alice))
	}
	// The page after the change carries the re-issued session's CSRF
	// token: a form posted from it passes.
	m := csrfField.FindStringSubmatch(body)
	if m == nil || m[1] == csrf {
		t.Fatalf("the answer's CSRF token is missing or the old session's")
	}
	if resp, _ := e.do("POST", "/signout", url.Values{"csrf": {m[1]}}, fresh); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out with the re-issued session's token: %s", resp.Status)
	}
	if e.trySignIn("vic", "correct-horse") != nil || e.trySignIn("vic", "battery-staple") == nil {
		t.Error("after the change: the old password should not sign in, the new one should")
	}
}

// TestChangeOwnPasswordThrottled: wrong current passwords count against
// the sign-in failure budget of the user's name (iam, 10 per 15 min):
// past it the form answers 429 with Retry-After, even with the right
// password, and changes nothing.
func TestChangeOwnPasswordThrottled(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	form := func(current string) url.Values {
		return url.Values{"csrf": {csrf}, "current_password": {current}, "new_password": {"battery-staple"}, "confirm_password": {"battery-staple"}}
	}
	for i := range 10 {
		if resp, _ := e.do("POST", "/settings/password", form("wrong-horse"), alice); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("wrong current #%d: %s", i+1, resp.Status)
		}
	}
	before := e.state()
	resp, body := e.do("POST", "/settings/password", form("correct-horse"), alice)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("past the budget: %s (Retry-After %q), want 429\n%.400s", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	if after := e.state(); after != before || !e.live(alice) {
		t.Fatal("the throttled change changed something")
	}
}

// TestResetPassword: an admin resets another user's password of the
// project (the new password only): that user's sessions end and only the
// new password signs in. Not one's own (400, nothing changed), not
// another project's user (404), not without the CSRF token; an operator
// and a viewer are refused by TestRolesRefuseByCategory.
func TestResetPassword(t *testing.T) {
	e := newEnv(t)
	alice, csrf := e.signIn("alice")
	eve, eveCSRF := e.signIn("eve")
	a, ev, bob := e.users(projA)["alice"], e.users(projA)["eve"], e.users(projB)["bob"]
	_, body := e.do("GET", "/settings", nil, alice)
	reset := func(id int64) string { return fmt.Sprintf("/settings/users/%d/password", id) }
	checkShows(t, "the admin's Settings", body, []string{`action="` + reset(ev.ID) + `"`, `aria-label="Reset the password of eve"`},
		[]string{`action="` + reset(a.ID) + `"`})

	e.checkCSRFRefused(alice, eveCSRF, url.Values{"password": {"battery-staple"}}, reset(ev.ID))
	before := e.state()
	for _, tc := range []struct {
		name, path, password string
		code                 int
		msg                  string
	}{
		{"own password", reset(a.ID), "battery-staple", http.StatusBadRequest, "Change your own password under Account"},
		{"another project's user", reset(bob.ID), "battery-staple", http.StatusNotFound, "User not found."},
		{"no such user", reset(1 << 40), "battery-staple", http.StatusNotFound, "User not found."},
		{"too short", reset(ev.ID), "short", http.StatusBadRequest, "The password of eve was not reset: password must be 8 to 72 bytes."},
	} {
		resp, body := e.do("POST", tc.path, url.Values{"csrf": {csrf}, "password": {tc.password}}, alice)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %s, want %d with %q\n%.400s", tc.name, resp.Status, tc.code, tc.msg, body)
		}
	}
	if after := e.state(); after != before || !e.live(eve) || !e.live(alice) {
		t.Fatalf("refused resets changed something:\n%s\nwas\n%s", after, before)
	}
	if e.trySignIn("bob", "correct-horse") == nil {
		t.Fatal("bob's password changed through another project's admin")
	}

	resp, body := e.do("POST", reset(ev.ID), url.Values{"csrf": {csrf}, "password": {"battery-staple"}}, alice)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "The password of eve was reset: their sessions and tokens have ended.") ||
		strings.Contains(body, "battery-staple") {
		t.Fatalf("reset: %s\n%.600s", resp.Status, body)
	}
	if e.live(eve) || !e.live(alice) {
		t.Errorf("after the reset: eve's session live %v (want not), alice's %v (want live)", e.live(eve), e.live(alice))
	}
	if e.trySignIn("eve", "correct-horse") != nil || e.trySignIn("eve", "battery-staple") == nil {
		t.Error("after the reset: the old password should not sign in, the new one should")
	}
}
