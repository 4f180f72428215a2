// Package console is openhss's web console: server-rendered pages at / of
// the same `openhss serve`, for a person who would rather read a severity
// bar than JSON (docs/console.md).
//
// It reads through the same store methods and the same parameter parsing
// (imagequery) as the HSS API, so a page and the matching API call agree;
// it signs users in with the password check of POST /v3/auth/tokens and
// keeps the session as an IAM token (docs/security.md, Web console).
// Every asset is embedded: an air-gapped browser gets every byte from
// openhss, and the pages need no JavaScript.
package console

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Store is what the pages read: the image list, one row and the image
// counts (inventory, trend), a manifest's findings and the project's
// finding counts (scanresult), and the project's tasks. The API reads the same list, findings and task
// methods.
type Store interface {
	ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error)
	GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error)
	ListVulns(ctx context.Context, f scanresult.VulnFilter) (int64, []scanresult.VulnRow, error)
	CountFindings(ctx context.Context, projectID string, enterpriseProjects []string) ([]scanresult.SeverityCount, error)
	// ImageCounts is the Overview's coverage and images by severity level
	// (trend.Count): the images by type, status and level in one read.
	ImageCounts(ctx context.Context, projectID string, enterpriseProjects []string) ([]trend.ImageCount, error)
	TopImages(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]scanresult.TopImage, error)
	TopVulns(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]scanresult.TopVuln, error)
	ListTasks(ctx context.Context, f tasks.Filter) ([]tasks.Task, int64, error)
	// TrendPoints is the Overview's trend: the daily snapshots
	// (internal/trend) of the granted enterprise projects, summed per day.
	TrendPoints(ctx context.Context, projectID string, enterpriseProjects []string, from, to int64) ([]trend.Point, error)
	// VulnStatus is what `openhss db status` reads: the vulnerability
	// data in use (records, ecosystems, last completed import).
	VulnStatus(ctx context.Context) (vulndb.Status, error)

	// The Registries page: the API's registry routes read and write the
	// same.
	ListRegistries(ctx context.Context, f inventory.RegistryFilter) ([]inventory.Registry, int64, error)
	GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error)
	CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	UpdateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	DeleteRegistry(ctx context.Context, projectID string, id int64) error
	DeleteRegistries(ctx context.Context, projectID string, enterpriseProjects []string, ids []int64) error

	// The image detail's tabs: the API's apps, SBOM and findings routes
	// read the same.
	ListApps(ctx context.Context, f scanresult.AppFilter) (int64, []scanresult.AppRow, error)
	GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error)
	GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error)
	RiskConfigs(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskConfigFilter) (int64, []scanresult.RiskConfig, error)
	RiskConfigRules(ctx context.Context, sel scanresult.RowSelection, f scanresult.RiskRuleFilter) (int64, []scanresult.RiskRule, error)
	WeakPasswordUsers(ctx context.Context, sel scanresult.RowSelection, f scanresult.WeakPasswordFilter) (int64, []scanresult.WeakPasswordRow, error)
	// The Scan history tab: the project's scans of a manifest, as the scan
	// service records them.
	ScanHistory(ctx context.Context, projectID, digest string) ([]inventory.ScanResult, error)
	SensitivePathWhitelist(ctx context.Context, projectID string) ([]string, error)

	// The Settings page: the whitelist the API's filepath-whitelist routes
	// replace (and VulnStatus above).
	SetSensitivePathWhitelist(ctx context.Context, projectID string, paths []string) error

	// The Tasks page: a task, its items, and ending it.
	GetTask(ctx context.Context, projectID, id string) (tasks.Task, error)
	ListTaskItems(ctx context.Context, f tasks.ItemFilter) ([]tasks.Item, int64, error)
	EndTask(ctx context.Context, projectID, id string, st tasks.State, reason string, at int64) ([]tasks.Item, error)
}

// Sealer seals and opens registry passwords: the API's *secret.Box.
type Sealer interface {
	Seal(plain string) ([]byte, error)
	Open(sealed []byte) (string, error)
}

// Pinger checks that a registry answers and accepts the credentials
// (*registry.Lister, under the server's network policy).
type Pinger interface {
	Ping(ctx context.Context, reg inventory.Registry, password string) error
}

// Auth signs users in and out, checks sessions and manages the project's
// credentials: *iam.Service.
type Auth interface {
	SignIn(ctx context.Context, name, password string) (token string, tok inventory.Token, user inventory.User, err error)
	AuthenticateToken(ctx context.Context, token string) (iam.Principal, error)
	RevokeToken(ctx context.Context, token string) error

	// The Settings page's credentials: the calls of `openhss credential`.
	CreateCredential(ctx context.Context, projectID string, grant inventory.Grant, description string) (accessKey, secretKey string, err error)
	ListCredentials(ctx context.Context, projectID string) ([]inventory.Credential, error)
	RevokeCredential(ctx context.Context, accessKey string) error

	// The Settings page's users of the session's project.
	ListUsers(ctx context.Context, projectID string) ([]inventory.User, error)
	CreateUniqueUser(ctx context.Context, projectID, name, password string, grant inventory.Grant, role inventory.Role) (inventory.User, error)
	DeleteUser(ctx context.Context, projectID string, id, by int64) error
	SetUserRole(ctx context.Context, projectID string, id, by int64, role inventory.Role) error
	// SetUserPassword is an admin's reset of another user's password;
	// ChangePassword a user's change of their own, which checks the
	// current one as sign-in does and returns the session's new token.
	SetUserPassword(ctx context.Context, projectID string, id, by int64, password string) error
	ChangePassword(ctx context.Context, projectID string, id int64, current, next string) (token string, tok inventory.Token, err error)
}

// VulnUpdater queues the vulnerability data update the workers run
// ("Update now", what `openhss db update` does) and reads the newest
// update job: *vulnupdate.Updater. Requests while one is queued or running
// join it.
type VulnUpdater interface {
	Request(ctx context.Context) (job jobs.Job, joined bool, err error)
	Latest(ctx context.Context) (job jobs.Job, found bool, err error)
}

// TaskStarter starts a task and queues its jobs (taskrun.Starter, which the
// API's routes and the scheduler start tasks with too).
type TaskStarter interface {
	StartScan(ctx context.Context, t tasks.Task, rows []inventory.Image) (tasks.Task, error)
	StartScanAll(ctx context.Context, t tasks.Task, f inventory.Filter) (tasks.Task, error)
	StartSync(ctx context.Context, t tasks.Task, regs []inventory.Registry) (tasks.Task, error)
}

// Options configure the console. Store, Auth, Scans, Tasks, VulnUpdate,
// Box, Registries and Fallback are required.
type Options struct {
	Store Store
	Auth  Auth
	// Scans cancels the queued scans a stopped scan task leaves (the
	// Tasks page's Stop, as StopImageScanTask); the scans the pages ask
	// for are queued through Tasks (taskrun.Starter's StartScan).
	Scans taskrun.ScanCanceller
	Tasks TaskStarter
	// VulnUpdate is the Settings page's Update now.
	VulnUpdate VulnUpdater
	// Box seals the passwords of the connections the Registries page adds
	// or changes, as the API's (the same key: the syncer opens them).
	Box Sealer
	// Registries tests a connection ("Test connection").
	Registries Pinger
	// NetPolicy is the network policy of the server's registry
	// connections, checked on every address a form sets, as the API does.
	// Default netpolicy.Default().
	NetPolicy *netpolicy.Policy
	// SensitiveDefault is the server-wide sensitive-path whitelist
	// (--sensitive-allowlist), applied with the project's own list to the
	// sensitive findings shown, as in the API.
	SensitiveDefault []string
	// Fallback serves every path the console does not own: the HSS API,
	// whose paths (/v3, /v5, /healthz, /metrics) and answers, unknown
	// paths included, stay as they are.
	Fallback http.Handler
	Logger   *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
}

// Cookie names. The session cookie holds an IAM token; the sign-in cookie
// is the double-submit CSRF token of the sign-in form, which comes before
// any session.
const (
	sessionCookie = "openhss_session"
	signInCookie  = "openhss_signin"
)

// maxForm bounds a console form's body: its forms hold a few short fields.
const maxForm = 64 << 10

// contentSecurityPolicy forbids everything but this origin's own styles,
// images and form targets: no script runs at all, inline or not, and no
// page may be framed (docs/security.md, Web console).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Console is the handler of the console's pages.
type Console struct {
	opts   Options
	log    *slog.Logger
	pages  map[string]*template.Template
	assets http.Handler
}

// New returns the console's handler.
func New(opts Options) (*Console, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("console: Options.Store is required")
	case opts.Auth == nil:
		return nil, errors.New("console: Options.Auth is required")
	case opts.Scans == nil:
		return nil, errors.New("console: Options.Scans is required")
	case opts.Tasks == nil:
		return nil, errors.New("console: Options.Tasks is required")
	case opts.VulnUpdate == nil:
		return nil, errors.New("console: Options.VulnUpdate is required")
	case opts.Fallback == nil:
		return nil, errors.New("console: Options.Fallback is required")
	case opts.Box == nil:
		return nil, errors.New("console: Options.Box is required")
	case opts.Registries == nil:
		return nil, errors.New("console: Options.Registries is required")
	}
	if opts.NetPolicy == nil {
		opts.NetPolicy = netpolicy.Default()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, log: opts.Logger, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"bar":       barWidth,
		"lower":     strings.ToLower,
		"millis":    formatMillis,
		"size":      formatSize,
		"failed":    failed,
		"progress":  progress,
		"plural":    plural,
		"regStatus": inventory.APIRegistryStatus,
		"jobState":  jobState,
		"orUnscan": func(s inventory.ScanStatus) string {
			if s == "" {
				return string(inventory.Unscan)
			}
			return string(s)
		},
	}
	// A sync task's connections, as ListAssociateRegistries words them.
	funcs["syncStatus"], funcs["syncReason"] = tasks.SyncStatus, tasks.SyncFailedReason
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	for _, name := range []string{"signin", "overview", "images", "image", "tasks", "task", "registries", "registry", "settings", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", name, err)
		}
		c.pages[name] = t
	}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("console: assets: %w", err)
	}
	c.assets = http.StripPrefix("/assets/", http.FileServerFS(sub))
	return c, nil
}

// page is a console page: its handler, whether it changes state, and the
// role it needs (docs/console.md, Roles). A POST page that names no role
// needs admin: a new action is refused until its route says who may use it.
type page struct {
	post bool
	need inventory.Role
	fn   func(w http.ResponseWriter, r *http.Request, s *session)
}

// role is what p needs: every GET page is for every role; a POST page
// names its own, admin when it names none.
func (p page) role() inventory.Role {
	switch {
	case !p.post:
		return inventory.RoleViewer
	case p.need == "":
		return inventory.RoleAdmin
	}
	return p.need
}

// ServeHTTP serves the console's own paths and hands every other one to
// Fallback untouched (no path cleaning, no redirect: the API answers its
// paths exactly as without the console).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/assets/"):
		c.headers(w)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.methodNotAllowed(w, "GET, HEAD")
			return
		}
		if strings.HasSuffix(p, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		c.assets.ServeHTTP(w, r)
		return
	case p == "/signin":
		c.headers(w)
		if r.Method != http.MethodPost {
			c.methodNotAllowed(w, "POST")
			return
		}
		c.signIn(w, r)
		return
	}
	pg, ok := c.route(p)
	if !ok {
		c.opts.Fallback.ServeHTTP(w, r)
		return
	}
	c.headers(w)
	w.Header().Set("Cache-Control", "no-store")
	want := http.MethodGet
	if pg.post {
		want = http.MethodPost
	}
	if r.Method != want && !(want == http.MethodGet && r.Method == http.MethodHead) {
		c.methodNotAllowed(w, want)
		return
	}
	s, err := c.session(r)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if s == nil {
		if pg.post {
			// No session, so no valid CSRF token either.
			c.render(w, r, http.StatusForbidden, "error", nil, map[string]any{"Message": "Sign in first."})
			return
		}
		c.signInForm(w, r, http.StatusOK, "")
		return
	}
	if pg.post {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil || !s.validCSRF(r.PostForm.Get("csrf")) {
			c.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Message": "The form was refused: its CSRF token is missing or wrong. Reload the page and try again."})
			return
		}
	}
	// The role is checked here, for every console page, before its
	// handler reads or changes anything; the role is the one read with the
	// session's token on this request (docs/security.md, Web console).
	if need := pg.role(); !s.principal.Allows(need) {
		c.log.Info("console: refused by role", "path", p, "user", s.principal.UserID, "role", s.principal.Role, "need", need)
		c.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Message": fmt.Sprintf(
			"Your role (%s) does not allow this: it needs the %s role. Ask an admin of the project. Nothing was changed.",
			cmp.Or(string(s.principal.Role), "none"), need)})
		return
	}
	pg.fn(w, r, s)
}

// route maps a console path to its page.
func (c *Console) route(p string) (page, bool) {
	switch p {
	case "/":
		return page{fn: c.overview}, true
	case "/images":
		return page{fn: c.images}, true
	case "/tasks":
		return page{fn: c.tasks}, true
	case "/registries":
		return page{fn: c.registries}, true
	case "/registries/add":
		return page{post: true, need: inventory.RoleOperator, fn: c.addRegistry}, true
	case "/registries/delete":
		return page{post: true, need: inventory.RoleOperator, fn: c.deleteRegistries}, true
	case "/settings":
		return page{fn: c.settings}, true
	case "/settings/whitelist":
		return page{post: true, need: inventory.RoleOperator, fn: c.setWhitelist}, true
	case "/settings/vulndata/update":
		return page{post: true, need: inventory.RoleOperator, fn: c.updateVulnData}, true
	case "/settings/users/create":
		return page{post: true, need: inventory.RoleAdmin, fn: c.createUser}, true
	case "/settings/password":
		// Every role: each user changes their own password.
		return page{post: true, need: inventory.RoleViewer, fn: c.changePassword}, true
	case "/settings/credentials/create":
		return page{post: true, need: inventory.RoleAdmin, fn: c.createCredential}, true
	case "/signout":
		return page{post: true, need: inventory.RoleViewer, fn: c.signOut}, true
	case "/images/scan":
		return page{post: true, need: inventory.RoleOperator, fn: c.scan}, true
	case "/images/scan-all":
		return page{post: true, need: inventory.RoleOperator, fn: c.scanAll}, true
	}
	if rest, ok := strings.CutPrefix(p, "/images/"); ok && rest != "" {
		switch id, sub, _ := strings.Cut(rest, "/"); {
		case id == "":
		case sub == "":
			return page{fn: c.image}, true
		case sub == "sbom":
			return page{fn: c.sbom}, true
		}
	}
	if rest, ok := strings.CutPrefix(p, "/registries/"); ok && rest != "" {
		switch id, action, _ := strings.Cut(rest, "/"); {
		case id == "" || strings.Contains(action, "/"):
		case action == "":
			return page{fn: c.registry}, true
		case action == "edit" || action == "delete" || action == "test" || action == "sync":
			return page{post: true, need: inventory.RoleOperator, fn: c.registry}, true
		}
	}
	if rest, ok := strings.CutPrefix(p, "/settings/users/"); ok {
		switch id, action, _ := strings.Cut(rest, "/"); {
		case id == "":
		case action == "delete":
			return page{post: true, need: inventory.RoleAdmin, fn: c.deleteUser}, true
		case action == "role":
			return page{post: true, need: inventory.RoleAdmin, fn: c.setUserRole}, true
		case action == "password":
			return page{post: true, need: inventory.RoleAdmin, fn: c.resetPassword}, true
		}
	}
	if rest, ok := strings.CutPrefix(p, "/settings/credentials/"); ok {
		if ak, action, _ := strings.Cut(rest, "/"); ak != "" && action == "delete" {
			return page{post: true, need: inventory.RoleAdmin, fn: c.deleteCredential}, true
		}
	}
	if rest, ok := strings.CutPrefix(p, "/tasks/"); ok && rest != "" {
		switch id, action, _ := strings.Cut(rest, "/"); {
		case id == "" || strings.Contains(action, "/"):
		case action == "":
			return page{fn: c.task}, true
		case action == "stop":
			return page{post: true, need: inventory.RoleOperator, fn: c.stopTask}, true
		}
	}
	return page{}, false
}

// headers are on every console answer (docs/security.md, Web console).
func (c *Console) headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

func (c *Console) methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// session is a signed-in user: the IAM token of the cookie and its
// principal (project and enterprise-project grant).
type session struct {
	token     string
	principal iam.Principal
	csrf      string
}

// session returns the request's session; nil without a valid one (no
// cookie, an unknown, revoked or expired token).
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	p, err := c.opts.Auth.AuthenticateToken(r.Context(), ck.Value)
	if errors.Is(err, iam.ErrUnauthenticated) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console: check session: %w", err)
	}
	return &session{token: ck.Value, principal: p, csrf: csrfToken(ck.Value)}, nil
}

// csrfToken is the session's CSRF token: a MAC of the session token, so it
// needs no storage, dies with the session and cannot be computed without
// the HttpOnly cookie.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("openhss console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// enterpriseProjects are the enterprise projects the session may read:
// every granted one (nil: the grant is All), as the API's
// enterprise_project_id=all_granted_eps.
func (s *session) enterpriseProjects() ([]string, error) {
	return s.principal.EnterpriseProjects(iam.AllGrantedEPs)
}

func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// signInForm shows the sign-in form with a fresh double-submit token.
func (c *Console) signInForm(w http.ResponseWriter, r *http.Request, status int, msg string) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		c.fail(w, r, nil, fmt.Errorf("console: random: %w", err))
		return
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, c.cookie(r, signInCookie, tok, 3600))
	c.render(w, r, status, "signin", nil, map[string]any{"CSRF": tok, "Message": msg})
}

// signIn checks the form's double-submit token, then the user's password
// through IAM, and starts a session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.badRequest(w, r, nil, "The form could not be read.")
		return
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		c.render(w, r, http.StatusForbidden, "error", nil, map[string]any{"Message": "The sign-in form was refused: its CSRF token is missing or wrong. Reload the page and try again."})
		return
	}
	token, _, _, err := c.opts.Auth.SignIn(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"))
	if err != nil {
		if _, ok := iam.RetryAfter(err); ok {
			c.signInForm(w, r, http.StatusTooManyRequests, "Too many sign-in attempts. Wait a minute and try again.")
			return
		}
		if errors.Is(err, iam.ErrUnauthenticated) || errors.Is(err, iam.ErrBadRequest) {
			c.log.Info("console sign-in refused", "err", err)
			c.signInForm(w, r, http.StatusUnauthorized, "Wrong user name or password.")
			return
		}
		c.fail(w, r, nil, fmt.Errorf("console: sign in: %w", err))
		return
	}
	http.SetCookie(w, c.cookie(r, signInCookie, "", -1))
	http.SetCookie(w, c.cookie(r, sessionCookie, token, 0))
	// Overview is the landing page after sign-in (docs/console.md); a
	// fixed target also leaves no redirect for a form to aim elsewhere.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOut revokes the session's token, for every server sharing the store.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.opts.Auth.RevokeToken(r.Context(), s.token); err != nil && !errors.Is(err, inventory.ErrNotFound) {
		c.fail(w, r, s, fmt.Errorf("console: sign out: %w", err))
		return
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// render writes a page of the layout. data is the page's; s, when set,
// adds the navigation and the sign-out form.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	if s != nil {
		// Operate and Admin show the controls of the session's role, and
		// only those: the server checks the role again on every POST.
		data["Session"] = map[string]any{"CSRF": s.csrf, "Project": s.principal.ProjectID, "Role": string(s.principal.Role),
			"Operate": s.principal.Allows(inventory.RoleOperator), "Admin": s.principal.Allows(inventory.RoleAdmin)}
	}
	data["Path"] = r.URL.Path
	var b strings.Builder
	if err := c.pages[name].ExecuteTemplate(&b, "layout.html", data); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// fail answers a server-side error: logged in full, shown as one line.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	c.log.Error("console", "path", r.URL.Path, "err", err)
	c.render(w, r, http.StatusInternalServerError, "error", s, map[string]any{"Message": "Internal error; the server log has the details."})
}

// badRequest answers a refused request with msg: what to correct.
func (c *Console) badRequest(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	c.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Message": msg})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s *session, what string) {
	c.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Message": what + " not found."})
}

// found answers the load of the path's row (what): a failed load (err) is
// a 500, a row not the session's (!ok) a 404. false: the answer is
// written.
func (c *Console) found(w http.ResponseWriter, r *http.Request, s *session, what string, ok bool, err error) bool {
	switch {
	case err != nil:
		c.fail(w, r, s, err)
	case !ok:
		c.notFound(w, r, s, what)
	}
	return err == nil && ok
}
