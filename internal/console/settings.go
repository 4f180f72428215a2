package console

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/pathallow"
	"github.com/openhss/openhss/internal/vulnupdate"
)

// settingsView is the Settings page's data. Secret is set only on the
// answer to the form that created it: it is never stored in the clear, so
// no later page can show it.
type settingsView struct {
	Data         vulnData  // as the Overview shows it
	Update       *jobs.Job // the newest update job; nil when none (or purged)
	Credentials  []inventory.Credential
	Users        []inventory.User
	Roles        []inventory.Role // the choices of the role selects
	Me           int64            // the session's user id: no Delete, no role change, no reset on that row
	MyName       string           // the session's user's name, for Account
	MinPassword  int              // the password rule (iam), for the password fields
	MaxPassword  int              // the password rule's upper bound
	NewUserName  string           // the refused create form's name, to correct it
	NewUserRole  inventory.Role   // the refused create form's role
	NewAccessKey string
	Secret       string
	Default      []string
	Custom       []string
	WhitelistIn  string // the refused textarea, to correct it
	Message      string
	Error        bool
}

// settings shows the page (GET /settings).
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderSettings(w, r, s, http.StatusOK, settingsView{})
}

// renderSettings fills v with the page's reads and renders it.
func (c *Console) renderSettings(w http.ResponseWriter, r *http.Request, s *session, status int, v settingsView) {
	ctx := r.Context()
	st, err := c.opts.Store.VulnStatus(ctx)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: vulnerability data status: %w", err))
		return
	}
	v.Data = newVulnData(st, c.opts.Now())
	if j, found, err := c.opts.VulnUpdate.Latest(ctx); err != nil {
		c.fail(w, r, s, fmt.Errorf("console: vulnerability data update: %w", err))
		return
	} else if found {
		v.Update = &j
	}
	creds, err := c.opts.Auth.ListCredentials(ctx, s.principal.ProjectID)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: credentials: %w", err))
		return
	}
	v.Credentials = creds
	users, err := c.opts.Auth.ListUsers(ctx, s.principal.ProjectID)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: users: %w", err))
		return
	}
	v.Users = users
	v.Roles = inventory.Roles()
	v.NewUserRole = cmp.Or(v.NewUserRole, inventory.RoleViewer)
	v.Me = s.principal.UserID
	for _, u := range users {
		if u.ID == v.Me {
			v.MyName = u.Name
		}
	}
	v.MinPassword, v.MaxPassword = iam.MinPasswordLen, iam.MaxPasswordLen
	custom, err := c.opts.Store.SensitivePathWhitelist(ctx, s.principal.ProjectID)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: sensitive path whitelist: %w", err))
		return
	}
	v.Custom = custom
	v.Default = c.opts.SensitiveDefault
	if v.WhitelistIn == "" && status == http.StatusOK {
		v.WhitelistIn = strings.Join(custom, "\n")
	}
	c.render(w, r, status, "settings", s, map[string]any{"Title": "Settings", "V": v})
}

// setWhitelist replaces the project's own sensitive-path whitelist with the
// textarea's lines (POST /settings/whitelist), with the check and the store
// call of the API's POST /image/sensitive/filepath-whitelist. Blank lines
// are dropped and each line is trimmed; an empty list clears it. A refused
// list stores nothing.
func (c *Console) setWhitelist(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.PostForm.Get("customized_path")
	list := []string{}
	for _, line := range strings.Split(in, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			list = append(list, line)
		}
	}
	paths, ferr := pathallow.CheckCustom(list)
	if ferr != nil {
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: ferr.Error(), Error: true, WhitelistIn: in})
		return
	}
	if err := c.opts.Store.SetSensitivePathWhitelist(r.Context(), s.principal.ProjectID, paths); err != nil {
		c.fail(w, r, s, fmt.Errorf("console: set sensitive path whitelist: %w", err))
		return
	}
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: fmt.Sprintf("The project's whitelist now has %d entries.", len(paths))})
}

// createCredential makes an AK/SK pair for the session's project with the
// session's enterprise-project grant (never wider), through the IAM call of
// `openhss credential create`, and shows the secret key on this answer
// only (Cache-Control: no-store, as every console page).
func (c *Console) createCredential(w http.ResponseWriter, r *http.Request, s *session) {
	ak, sk, err := c.opts.Auth.CreateCredential(r.Context(), s.principal.ProjectID, s.principal.Grant, r.PostForm.Get("description"))
	if errors.Is(err, iam.ErrInvalid) {
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: err.Error(), Error: true})
		return
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: create credential: %w", err))
		return
	}
	c.renderSettings(w, r, s, http.StatusOK, settingsView{NewAccessKey: ak, Secret: sk,
		Message: "Credential " + ak + " created. Copy the secret key now: it is shown only this once."})
}

// deleteCredential revokes one of the project's access keys (POST
// /settings/credentials/{ak}/delete), as `openhss credential revoke`. An
// access key of another project is not found and stays as it is.
func (c *Console) deleteCredential(w http.ResponseWriter, r *http.Request, s *session) {
	ak, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/settings/credentials/"), "/")
	creds, err := c.opts.Auth.ListCredentials(r.Context(), s.principal.ProjectID)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: credentials: %w", err))
		return
	}
	i := slices.IndexFunc(creds, func(cr inventory.Credential) bool {
		return cr.AccessKey == ak && cr.ProjectID == s.principal.ProjectID && cr.RevokedAt == 0
	})
	if i < 0 {
		c.notFound(w, r, s, "Credential")
		return
	}
	if !s.principal.Grant.Covers(creds[i].Grant) {
		c.renderSettings(w, r, s, http.StatusForbidden, settingsView{Message: "Credential " + ak +
			" can see enterprise projects your grant does not: nothing was changed.", Error: true})
		return
	}
	if err := c.opts.Auth.RevokeCredential(r.Context(), ak); err != nil {
		c.fail(w, r, s, fmt.Errorf("console: revoke credential: %w", err))
		return
	}
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: "Credential " + ak + " deleted: requests signed with it are refused from now on."})
}

// updateVulnData queues the vulnerability data update (POST
// /settings/vulndata/update): a job the workers run, doing what `openhss
// db update` does. One at a time for the whole server: a request while
// one is queued or running joins it and queues nothing; one within the
// updater's minimum interval of the last finished update is refused
// (429), since every project's operators may ask (docs/security.md).
func (c *Console) updateVulnData(w http.ResponseWriter, r *http.Request, s *session) {
	_, joined, err := c.opts.VulnUpdate.Request(r.Context())
	var soon *vulnupdate.TooSoonError
	if errors.As(err, &soon) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(time.Until(soon.Next).Seconds())))))
		c.renderSettings(w, r, s, http.StatusTooManyRequests, settingsView{Error: true,
			Message: "The vulnerability data was last updated " + formatMillis(soon.Finished.UnixMilli()) +
				": Update now is taken again from " + formatMillis(soon.Next.UnixMilli()) + ". Nothing was queued."})
		return
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: queue vulnerability data update: %w", err))
		return
	}
	msg := "Vulnerability data update queued: a worker downloads and imports the OSV archives, then re-matches the scanned images."
	if joined {
		msg = "An update of the vulnerability data is already queued or running; no other was queued."
	}
	c.log.Info("console: vulnerability data update requested", "project", s.principal.ProjectID, "joined", joined)
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: msg})
}

// jobState is an update job's state in words, with its time and, when it
// failed, why.
func jobState(j jobs.Job) string {
	switch j.State {
	case jobs.Queued:
		return "queued since " + formatMillis(j.CreatedAt)
	case jobs.Running:
		return "running since " + formatMillis(j.UpdatedAt)
	case jobs.Done:
		return "finished " + formatMillis(j.UpdatedAt)
	case jobs.Failed:
		return "failed " + formatMillis(j.UpdatedAt) + ": " + j.Error
	}
	return string(j.State)
}

// createUser adds a user to the session's project with the session's
// enterprise-project grant (never wider) and the form's role (viewer when
// the form names none: the least a new user may do), as `openhss user
// create` does, for a name no user has in any project: the console signs
// in by name alone. A taken name answers "name not available", whichever
// project has it. The password is never shown again, not even on a
// refusal. Only an admin reaches it (route).
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PostForm.Get("name")
	// Viewer when the form names none; IAM refuses a role it does not know.
	role := inventory.Role(cmp.Or(r.PostForm.Get("role"), string(inventory.RoleViewer)))
	u, err := c.opts.Auth.CreateUniqueUser(r.Context(), s.principal.ProjectID, name, r.PostForm.Get("password"), s.principal.Grant, role)
	switch {
	case errors.Is(err, iam.ErrNameNotAvailable):
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: "User name " + name + ": name not available.", Error: true, NewUserName: name, NewUserRole: role})
		return
	case errors.Is(err, iam.ErrInvalid):
		c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: "The user was not created: " + invalidReason(err) + ".", Error: true, NewUserName: name, NewUserRole: role})
		return
	case err != nil:
		c.fail(w, r, s, fmt.Errorf("console: create user: %w", err))
		return
	}
	c.log.Info("console: user created", "project", s.principal.ProjectID, "user", u.Name, "role", u.Role, "by", s.principal.UserID)
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: "User " + u.Name + " created as " + string(u.Role) + ": they can sign in now."})
}

// projectUser is the project's user the path names (/settings/users/{id}/
// ACTION); false, after answering 404, for a malformed id or a user of
// another project or none, and after answering 403 for a user whose grant
// reaches enterprise projects the session's does not (beyond one's own
// grant, as no user is created).
func (c *Console) projectUser(w http.ResponseWriter, r *http.Request, s *session) (inventory.User, bool) {
	raw, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/settings/users/"), "/")
	id, ok := imagequery.ParseID(raw)
	if !ok {
		c.notFound(w, r, s, "User")
		return inventory.User{}, false
	}
	users, err := c.opts.Auth.ListUsers(r.Context(), s.principal.ProjectID)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: users: %w", err))
		return inventory.User{}, false
	}
	i := slices.IndexFunc(users, func(u inventory.User) bool { return u.ID == id && u.ProjectID == s.principal.ProjectID })
	if i < 0 {
		c.notFound(w, r, s, "User")
		return inventory.User{}, false
	}
	if !s.principal.Grant.Covers(users[i].Grant) {
		c.renderSettings(w, r, s, http.StatusForbidden, settingsView{Message: "User " + users[i].Name +
			" can see enterprise projects your grant does not: nothing was changed.", Error: true})
		return inventory.User{}, false
	}
	return users[i], true
}

// refusal is a user action's answer (400, its message) to an error it
// wraps.
type refusal struct {
	err error
	msg string
}

// userActionFailed answers err, not nil, of an action on a project user:
// 400 with the message of the first refusal it wraps, 404 when the user is
// gone, else a failure (500) of what.
func (c *Console) userActionFailed(w http.ResponseWriter, r *http.Request, s *session, err error, what string, refusals ...refusal) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			c.renderSettings(w, r, s, http.StatusBadRequest, settingsView{Message: rf.msg, Error: true})
			return
		}
	}
	if errors.Is(err, inventory.ErrNotFound) {
		c.notFound(w, r, s, "User")
		return
	}
	c.fail(w, r, s, fmt.Errorf("console: %s: %w", what, err))
}

// deleteUser deletes one of the project's users (POST
// /settings/users/{id}/delete) and revokes their tokens, so their sessions
// end on every server. A user of another project is not found and stays;
// nobody deletes themself, and the project's last admin stays.
func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, s *session) {
	u, ok := c.projectUser(w, r, s)
	if !ok {
		return
	}
	if err := c.opts.Auth.DeleteUser(r.Context(), s.principal.ProjectID, u.ID, s.principal.UserID); err != nil {
		c.userActionFailed(w, r, s, err, "delete user",
			refusal{iam.ErrSelf, "You cannot delete yourself."},
			refusal{inventory.ErrLastAdmin, "User " + u.Name + " is the project's last admin and cannot be deleted: make another user admin first."})
		return
	}
	c.log.Info("console: user deleted", "project", s.principal.ProjectID, "user", u.Name, "by", s.principal.UserID)
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: "User " + u.Name + " deleted: their sessions have ended."})
}

// setUserRole changes one of the project's users' role (POST
// /settings/users/{id}/role, an admin's). Nobody changes their own role,
// and the project's last admin stays admin; a refusal changes nothing. The
// user's sessions carry the new role from their next request (within 2 s
// on another server: docs/security.md, Web console).
func (c *Console) setUserRole(w http.ResponseWriter, r *http.Request, s *session) {
	u, ok := c.projectUser(w, r, s)
	if !ok {
		return
	}
	role := inventory.Role(r.PostForm.Get("role"))
	if err := c.opts.Auth.SetUserRole(r.Context(), s.principal.ProjectID, u.ID, s.principal.UserID, role); err != nil {
		c.userActionFailed(w, r, s, err, "set user role",
			refusal{iam.ErrInvalid, "The role was not changed: " + invalidReason(err) + "."},
			refusal{iam.ErrSelf, "You cannot change your own role: ask another admin."},
			refusal{inventory.ErrLastAdmin, "User " + u.Name + " is the project's last admin and stays admin: make another user admin first."})
		return
	}
	c.log.Info("console: user role changed", "project", s.principal.ProjectID, "user", u.Name, "from", u.Role, "to", role, "by", s.principal.UserID)
	c.renderSettings(w, r, s, http.StatusOK, settingsView{Message: "User " + u.Name + " is now " + string(role) + ", from their next request."})
}
