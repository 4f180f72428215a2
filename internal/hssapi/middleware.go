package hssapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
)

// maxBody is the largest request body read (docs/api.md, Conventions and
// Request bodies).
const maxBody = 1 << 20

const contentTypeJSON = "application/json;charset=UTF-8"

// safeRequestID is what a client-sent X-Request-Id must look like to be
// echoed: anything else could inject into logs or response headers.
var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status written, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer wraps every route: request id, panic recovery, path hygiene, the
// region header, the access log and the metrics.
func (s *server) outer(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !safeRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		st := &reqState{}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(context.WithValue(ctx, reqStateKey, st))

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panic", "request_id", id, "panic", v)
				if sw.status == 0 {
					s.writeError(sw, r, errInternal)
				}
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			} else if i := strings.IndexByte(route, ' '); i >= 0 {
				route = route[i+1:]
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			method := metricMethod(r.Method)
			s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
			// Never the headers or the body: they carry tokens, signatures
			// and registry passwords.
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", elapsed),
			}
			if st.refused {
				if st.reason != "" {
					// The reason is for operators only: it may name the
					// access key.
					attrs = append(attrs, slog.String("reason", st.reason))
				}
				s.logRefusal(r.Context(), attrs)
				return
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
		}()

		// A client that has used up its refusals is answered before any
		// work is spent on it, whatever it asks.
		if blocked, wait := s.refusals.blocked(clientHost(r)); blocked {
			s.writeError(sw, r, &throttled{after: wait})
			return
		}

		// ServeMux would answer an unclean path with a redirect and an HTML
		// body; HSS clients only ever send clean paths, so it is not found.
		if p := r.URL.Path; p == "" || p[0] != '/' || cleanPath(p) != p {
			s.writeError(sw, r, errRouteNotFound)
			return
		}
		if region, ok := r.Header["Region"]; ok && (len(region) != 1 || region[0] != s.cfg.Region) {
			s.writeError(sw, r, invalidParam("region", "this server serves region %s", s.cfg.Region))
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
		return m
	}
	return "other"
}

// call is what an authenticated handler gets besides the request.
type call struct {
	Principal iam.Principal
	ProjectID string // of the path; equal to Principal.ProjectID
	Body      []byte
}

// handler serves one route. A returned *apiError is sent as is; any other
// error is logged and answered with 500 HSS.0041.
type handler func(w http.ResponseWriter, r *http.Request, c *call) error

// v5 wraps an HSS route: read the body, authenticate, rate-limit, and check
// the path's project before the handler touches anything.
func (s *server) v5(h handler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, c *call) error {
		project := r.PathValue("project_id")
		if err := c.Principal.CheckProject(project); err != nil {
			return errForbidden
		}
		// The SDK signs X-Project-Id; a request naming one project in the
		// header and another in the path is refused whoever it comes from.
		if hp := r.Header.Values("X-Project-Id"); len(hp) > 0 && (len(hp) != 1 || hp[0] != project) {
			return errForbidden
		}
		// A viewer's token reads but changes nothing (docs/security.md,
		// Web console): every v5 route other than GET changes the project.
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.Principal.Allows(inventory.RoleOperator) {
			return errForbidden
		}
		c.ProjectID = project
		return h(w, r, c)
	})
}

// authed wraps a route that needs a caller but no path project.
func (s *server) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, aerr := readBody(w, r)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		p, err := s.cfg.IAM.Authenticate(r.Context(), r, body)
		if err != nil {
			s.writeError(w, r, s.authError(r, err))
			return
		}
		if st := stateOf(r.Context()); st != nil {
			st.authed = true
		}
		if s.limiter != nil {
			if ok, wait := s.limiter.allow(principalKey(p)); !ok {
				s.writeError(w, r, &throttled{after: wait})
				return
			}
		}
		s.finish(w, r, h(w, r, &call{Principal: p, Body: body}))
	}
}

// public wraps a route without authentication.
func (s *server) public(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, aerr := readBody(w, r)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		s.finish(w, r, h(w, r, &call{Body: body}))
	}
}

func (s *server) finish(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		return
	}
	var th *throttled
	if errors.As(err, &th) {
		s.writeError(w, r, th)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "err", err)
		ae = errInternal
	}
	s.writeError(w, r, ae)
}

// authError maps an IAM failure to the envelope. Anything IAM does not
// classify is an internal error: a broken store must not look like a bad
// password.
func (s *server) authError(r *http.Request, err error) *apiError {
	if ae := iamError(err); ae != nil {
		// Logged with the access line, which is sampled (refusal.go).
		if st := stateOf(r.Context()); st != nil {
			st.reason = err.Error()
		}
		return ae
	}
	s.log.ErrorContext(r.Context(), "authentication failed internally", "request_id", requestID(r.Context()), "err", err)
	return errInternal
}

// iamError maps the errors iam classifies; nil for anything else.
func iamError(err error) *apiError {
	switch {
	case errors.Is(err, iam.ErrUnauthenticated):
		return errUnauthenticated
	case errors.Is(err, iam.ErrForbidden):
		return errForbidden
	case errors.Is(err, iam.ErrBadEnterpriseProject):
		return invalidParam("enterprise_project_id", "must be 0, all_granted_eps or an enterprise project id (at most 64 letters, digits, '-' or '_')")
	case errors.Is(err, iam.ErrBadRequest):
		return badRequest("the request cannot be parsed")
	}
	return nil
}

func principalKey(p iam.Principal) string {
	if p.AccessKey != "" {
		return "ak:" + p.AccessKey
	}
	return "user:" + strconv.FormatInt(p.UserID, 10)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, badRequest("the request body is larger than 1 MiB")
		}
		return nil, badRequest("the request body cannot be read")
	}
	return body, nil
}

// decodeJSON parses a JSON object body into v. Unknown fields are ignored,
// as HSS does; anything that is not exactly one JSON object is HSS.0002.
func decodeJSON(r *http.Request, body []byte, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return badRequest("Content-Type must be application/json")
		}
	}
	trimmed := strings.TrimSpace(string(body))
	if !strings.HasPrefix(trimmed, "{") {
		return badRequest("the request body must be a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("the request body has a wrong type for field " + te.Field)
		}
		return badRequest("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the request body has data after the JSON object")
	}
	return nil
}

func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; a failure is a bug.
		s.log.Error("encode response", "err", err)
		b = []byte(`{"error_code":"` + codeInternal + `","error_msg":"internal error"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// writeError sends e, or a 429 in its place once the caller has spent its
// refusals (refusal.go). err is an *apiError or a *throttled; every 429
// carries Retry-After.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	var th *throttled
	switch {
	case errors.As(err, &th):
		w.Header().Set("Retry-After", retryAfterSeconds(th.after))
		e = errRateLimited
	case errors.As(err, &e):
	default:
		e = errInternal
	}
	e = s.noteRefusal(w, r, e)
	if e.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfterSeconds(0))
	}
	if e.Status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "answered internal error", "request_id", requestID(r.Context()))
	}
	s.writeJSON(w, e.Status, errorBody{ErrorCode: e.Code, ErrorMsg: e.Msg})
}

// router registers method-specific routes and answers every other method
// and path with 404 HSS.0011 in the HSS envelope (docs/api.md, "Unknown
// routes"). An HSS API is a method and a path, and Huawei's gateway answers
// any other combination as not found; a 405 would also be wrong for paths
// such as GET /image/registries/images, which share a shape with PUT
// /image/registries/{id} only by accident of the wildcard.
type router struct {
	mux *http.ServeMux
	s   *server
	// shapes constrains wildcards by name, on every route that has them:
	// a path whose value for the wildcard does not match is not that route.
	// The /image/{image_id}/... routes share their first segment with
	// literal HSS APIs (GET /image/local/apps is not the apps of image
	// "local"), so only an image id's shape tells them apart.
	shapes map[string]*regexp.Regexp
}

func newRouter(s *server) *router {
	return &router{
		mux:    http.NewServeMux(),
		s:      s,
		shapes: map[string]*regexp.Regexp{"image_id": imageIDPattern},
	}
}

func (rt *router) handle(method, pattern string, h http.HandlerFunc) {
	var checks []string
	for _, seg := range strings.Split(pattern, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if rt.shapes[name] != nil {
				checks = append(checks, name)
			}
		}
	}
	if len(checks) > 0 {
		inner := h
		h = func(w http.ResponseWriter, r *http.Request) {
			for _, name := range checks {
				if !rt.shapes[name].MatchString(r.PathValue(name)) {
					rt.notFound(w, r)
					return
				}
			}
			inner(w, r)
		}
	}
	rt.mux.HandleFunc(method+" "+pattern, h)
}

// finish registers the catch-all. ServeMux prefers any matching pattern to
// its own 405, and "/" matches every method and path, so everything no
// route serves lands here.
func (rt *router) finish() {
	rt.mux.HandleFunc("/", rt.notFound)
}

func (rt *router) notFound(w http.ResponseWriter, r *http.Request) {
	// Logs and metrics say "unmatched", not the route a wildcard matched.
	r.Pattern = ""
	rt.s.writeError(w, r, errRouteNotFound)
}
