package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/iam"
)

// invalidReason is what an iam.ErrInvalid refusal asks to correct.
func invalidReason(err error) string {
	_, reason, _ := strings.Cut(err.Error(), iam.ErrInvalid.Error()+": ")
	return reason
}

// changePassword changes the session's user's own password (POST
// /settings/password, every role): the current one, checked by IAM as a
// sign-in checks it (a wrong one counts against the name's sign-in
// budget), and the new one twice. On success every token of the user is
// revoked, this session's too, and the session continues with the new
// token IAM issues: a copied session cookie dies with the old password
// (docs/security.md, Passwords). No password is logged or shown again.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	next := r.PostForm.Get("new_password")
	if next != r.PostForm.Get("confirm_password") {
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: "The password was not changed: the new password and its confirmation differ.", Error: true})
		return
	}
	token, _, err := c.opts.Auth.ChangePassword(r.Context(), s.principal.ProjectID, s.principal.UserID, r.PostForm.Get("current_password"), next)
	if after, ok := iam.RetryAfter(err); ok {
		c.log.Info("console: password change throttled", "project", s.principal.ProjectID, "user", s.principal.UserID)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		c.renderSettings(w, r, s, http.StatusTooManyRequests, settingsView{Message: "Too many failed attempts: wait a minute and try again. Nothing was changed.", Error: true})
		return
	}
	switch {
	case errors.Is(err, iam.ErrWrongPassword):
		c.log.Info("console: password change refused: wrong current password", "project", s.principal.ProjectID, "user", s.principal.UserID)
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: "The current password is wrong. Nothing was changed.", Error: true})
		return
	case errors.Is(err, iam.ErrInvalid):
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: "The password was not changed: " + invalidReason(err) + ".", Error: true})
		return
	case err != nil:
		c.fail(w, r, s, fmt.Errorf("console: change password: %w", err))
		return
	}
	c.log.Info("console: password changed", "project", s.principal.ProjectID, "user", s.principal.UserID)
	http.SetCookie(w, c.cookie(r, sessionCookie, token, 0))
	ns := &session{token: token, principal: s.principal, csrf: csrfToken(token)}
	c.renderSettings(w, r, ns, http.StatusOK, settingsView{Message: "Your password was changed. Every other session and token of yours has ended; this one continues."})
}

// resetPassword sets another user's password (POST
// /settings/users/{id}/password, an admin's): the new password only. The
// user's sessions and tokens all end. Not one's own (the Account form,
// with the current password), not another project's user (not found).
func (c *Console) resetPassword(w http.ResponseWriter, r *http.Request, s *session) {
	u, ok := c.projectUser(w, r, s)
	if !ok {
		return
	}
	if err := c.opts.Auth.SetUserPassword(r.Context(), s.principal.ProjectID, u.ID, s.principal.UserID, r.PostForm.Get("password")); err != nil {
		c.userActionFailed(w, r, s, err, "reset password",
			refusal{iam.ErrSelf, "Change your own password under Account, with your current one."},
			refusal{iam.ErrInvalid, "The password of " + u.Name + " was not reset: " + invalidReason(err) + "."})
		return
	}
	c.log.Info("console: user password reset", "project", s.principal.ProjectID, "user", u.Name, "by", s.principal.UserID)
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: "The password of " + u.Name + " was reset: their sessions and tokens have ended."})
}
