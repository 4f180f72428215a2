// Package registrytest runs a real CNCF Distribution registry inside a Go
// test and pushes real images to it with go-containerregistry.
//
// Import it only from _test.go files: Distribution pulls in OpenTelemetry,
// gRPC and a redis client, none of which belong in the openhss binary.
package registrytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// Drivers and access controllers register themselves by name.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// Registry is a running in-process registry.
type Registry struct {
	srv        *httptest.Server
	addr       string
	direct     string // the same registry without middleware
	user, pass string
}

type config struct {
	user, pass string
	deletes    bool
	catalogMax int
	middleware func(http.Handler) http.Handler
	storageDir string
	listen     string
}

// Option configures New.
type Option func(*config)

// WithBasicAuth puts the registry behind htpasswd basic auth with one user.
// Fixtures push with these credentials.
func WithBasicAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithDelete enables manifest deletion (needed by DeleteTag).
func WithDelete() Option { return func(c *config) { c.deletes = true } }

// WithCatalogMaxEntries sets the largest catalog page the registry serves
// (default 1000). A small value makes clients paginate with Link headers.
func WithCatalogMaxEntries(n int) Option { return func(c *config) { c.catalogMax = n } }

// WithMiddleware wraps the registry's handler, e.g. to delay responses.
// Fixtures bypass it: they talk to the registry directly.
func WithMiddleware(m func(http.Handler) http.Handler) Option {
	return func(c *config) { c.middleware = m }
}

// WithStorageDir keeps the registry's files in dir instead of a fresh
// temporary directory, so a populated registry can be reused.
func WithStorageDir(dir string) Option { return func(c *config) { c.storageDir = dir } }

// WithListenAddr serves the registry on addr ("127.0.0.2:0") instead of
// 127.0.0.1: Linux routes all of 127.0.0.0/8 to the loopback interface, so
// tests can run registries on distinct loopback addresses.
func WithListenAddr(addr string) Option { return func(c *config) { c.listen = addr } }

// New starts a registry on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	c := config{catalogMax: 1000}
	for _, o := range opts {
		o(&c)
	}
	// Distribution logs every request through the global logrus logger.
	logrus.SetOutput(io.Discard)

	dir := c.storageDir
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem": configuration.Parameters{"rootdirectory": filepath.Join(dir, "data")},
			"delete":     configuration.Parameters{"enabled": c.deletes},
			"cache":      configuration.Parameters{"blobdescriptor": "inmemory"},
			"maintenance": configuration.Parameters{
				"uploadpurging": map[any]any{"enabled": false},
			},
		},
		Catalog: configuration.Catalog{MaxEntries: c.catalogMax},
	}
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "error"
	cfg.HTTP.Secret = "registrytest-secret"
	if c.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(c.pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(c.user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "registrytest", "path": htpasswd}}
	}

	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	var h http.Handler = app
	r := &Registry{user: c.user, pass: c.pass}
	if c.middleware != nil {
		// Fixtures need an undelayed door: a second server on the same app.
		direct := httptest.NewServer(app)
		t.Cleanup(direct.Close)
		h = c.middleware(app)
		r.srv = newServer(t, c.listen, h)
		r.addr = strings.TrimPrefix(r.srv.URL, "http://")
		r.direct = strings.TrimPrefix(direct.URL, "http://")
	} else {
		r.srv = newServer(t, c.listen, h)
		r.addr = strings.TrimPrefix(r.srv.URL, "http://")
		r.direct = r.addr
	}
	t.Cleanup(func() {
		r.srv.Close()
		_ = app.Shutdown()
		cancel()
	})
	return r
}

// newServer starts an httptest server on addr ("" for 127.0.0.1:0).
func newServer(t testing.TB, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	if addr == "" {
		return httptest.NewServer(h)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("registrytest: listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv
}

// Addr is the registry's host:port, as a registry connection stores it.
func (r *Registry) Addr() string { return r.addr }

// URL is the registry's base URL ("http://127.0.0.1:port").
func (r *Registry) URL() string { return "http://" + r.addr }

// Close stops the registry before the test ends: later requests fail to connect.
func (r *Registry) Close() { r.srv.Close() }

// Credentials are the user and password given to WithBasicAuth.
func (r *Registry) Credentials() (user, pass string) { return r.user, r.pass }

// Repo names a repository of this registry for go-containerregistry,
// bypassing any middleware.
func (r *Registry) Repo(t testing.TB, repo string) name.Repository {
	t.Helper()
	n, err := name.NewRepository(r.direct+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// RemoteOptions are the go-containerregistry options fixtures push with.
func (r *Registry) RemoteOptions() []remote.Option {
	auth := authn.Anonymous
	if r.user != "" {
		auth = &authn.Basic{Username: r.user, Password: r.pass}
	}
	return []remote.Option{remote.WithAuth(auth)}
}
