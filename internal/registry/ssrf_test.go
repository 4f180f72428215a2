package registry_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// policyLister is fastLister over a transport guarded by the policy of o.
func policyLister(t *testing.T, o netpolicy.Options) *registry.Lister {
	t.Helper()
	p, err := netpolicy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return fastLister(t, registry.ListerOptions{Transport: registry.NewTransport(p)})
}

// recorder is an HTTP server on 127.0.0.1 that records what reaches it.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	auth  []string // Authorization headers received
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.paths = append(rec.paths, r.URL.Path)
		rec.auth = append(rec.auth, r.Header.Get("Authorization"))
		rec.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		fmt.Fprint(w, `{"repositories":["internal/secret"]}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) seen() (paths, auth []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...), append([]string(nil), r.auth...)
}

func loopbackAlias(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("this machine does not route 127.0.0.2 to loopback: %v", err)
	}
	ln.Close()
	return "127.0.0.2:0"
}

// A registry on any loopback address (127.0.0.2 here, an "internal"
// service) is refused by default and reachable once the operator allows
// that address; allowing one address does not allow its neighbours.
func TestPolicyLoopbackAlias(t *testing.T) {
	r := registrytest.New(t, registrytest.WithListenAddr(loopbackAlias(t)))
	r.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})
	other := registrytest.New(t) // 127.0.0.1
	other.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})

	_, err := policyLister(t, netpolicy.Options{}).List(context.Background(), connection(r), "")
	if !errors.Is(err, netpolicy.ErrDenied) {
		t.Fatalf("default policy: err = %v, want ErrDenied", err)
	}
	if reason := registry.FailReason(err); !strings.HasPrefix(reason, "REQUEST_API_ERROR: denied by network policy") ||
		strings.Contains(reason, "127.0.0.2") {
		t.Errorf("fail reason = %q", reason)
	}

	allow := netpolicy.Options{Allow: []string{"127.0.0.2/32"}}
	snap, err := policyLister(t, allow).List(context.Background(), connection(r), "")
	if err != nil || len(snap.Repositories) != 1 {
		t.Fatalf("allowed: %+v, %v", snap, err)
	}
	if _, err := policyLister(t, allow).List(context.Background(), connection(other), ""); !errors.Is(err, netpolicy.ErrDenied) {
		t.Fatalf("127.0.0.1 with only 127.0.0.2 allowed: err = %v, want ErrDenied", err)
	}
	// The default Lister is guarded too.
	def, err := registry.NewLister(registry.ListerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.List(context.Background(), connection(r), ""); !errors.Is(err, netpolicy.ErrDenied) {
		t.Fatalf("default lister: err = %v, want ErrDenied", err)
	}
}

// A registry the operator allowed redirects to a DNS name (localhost) that
// resolves to a denied address: the redirect is never followed.
func TestPolicyRedirectToLocalhost(t *testing.T) {
	internal := newRecorder(t, nil)
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	redirect := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/v2/_catalog" {
				http.Redirect(w, req, "http://localhost:"+port+"/admin/v2/_catalog", http.StatusFound)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	r := registrytest.New(t, registrytest.WithListenAddr(loopbackAlias(t)), registrytest.WithMiddleware(redirect))
	r.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})

	_, err := policyLister(t, netpolicy.Options{Allow: []string{"127.0.0.2"}}).List(context.Background(), connection(r), "")
	if paths, _ := internal.seen(); len(paths) > 0 {
		t.Fatalf("the redirect reached the internal server: %q", paths)
	}
	if !errors.Is(err, netpolicy.ErrDenied) {
		t.Fatalf("err = %v, want ErrDenied", err)
	}
}

// tokenAuth puts a registry behind Docker token auth whose realm is
// realm(): the registry accepts only "Bearer good-token", which the token
// server gives for the right Basic credentials.
func tokenAuth(realm func() string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Authorization") != "Bearer good-token" {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="registrytest"`, realm()))
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}`, http.StatusUnauthorized)
				return
			}
			req.Header.Del("Authorization")
			next.ServeHTTP(w, req)
		})
	}
}

func tokenServer(t *testing.T, user, pass string) *recorder {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	return newRecorder(t, func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != want {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"token":"good-token"}`)
	})
}

// The connection's Basic credentials go to a token realm only on the
// registry's own host (any port), or on a host the operator names.
func TestRealmCredentials(t *testing.T) {
	const user, pass = "robot", "realm-s3cret"
	tokens := tokenServer(t, user, pass)
	_, tport, _ := net.SplitHostPort(tokens.Listener.Addr().String())
	realm := "http://localhost:" + tport + "/token"
	r := registrytest.New(t, registrytest.WithMiddleware(tokenAuth(func() string { return realm })))
	r.PushImage(t, "team/app", "v1", registrytest.ImageOptions{})
	_, rport, _ := net.SplitHostPort(r.Addr())
	loop := netpolicy.Options{Allow: []string{"127.0.0.0/8", "::1"}}

	sentCreds := func() bool {
		_, auth := tokens.seen()
		for _, a := range auth {
			if strings.HasPrefix(a, "Basic ") {
				return true
			}
		}
		return false
	}

	// Registry 127.0.0.1, realm on localhost: another host name.
	conn := connection(r)
	conn.Username = user
	_, err := policyLister(t, loop).List(context.Background(), conn, pass)
	if sentCreds() {
		t.Fatal("the credentials were sent to a realm on another host")
	}
	if !errors.Is(err, registry.ErrAuth) {
		t.Errorf("err = %v, want ErrAuth (the realm refused the anonymous request)", err)
	}

	// Registry localhost, realm localhost on another port: same host.
	conn.Addr = "localhost:" + rport
	snap, err := policyLister(t, loop).List(context.Background(), conn, pass)
	if err != nil || len(snap.Repositories) != 1 || !sentCreds() {
		t.Fatalf("same-host realm: %+v, %v, credentials sent: %v", snap, err, sentCreds())
	}

	// The operator names the realm host.
	tokens.mu.Lock()
	tokens.auth = nil
	tokens.mu.Unlock()
	conn.Addr = r.Addr()
	o := loop
	o.CredentialHosts = []string{"localhost"}
	snap, err = policyLister(t, o).List(context.Background(), conn, pass)
	if err != nil || len(snap.Repositories) != 1 || !sentCreds() {
		t.Fatalf("allowed realm host: %+v, %v, credentials sent: %v", snap, err, sentCreds())
	}
}

// A realm that resolves to a denied address is never contacted.
func TestRealmDeniedByPolicy(t *testing.T) {
	tokens := tokenServer(t, "robot", "pw")
	_, tport, _ := net.SplitHostPort(tokens.Listener.Addr().String())
	r := registrytest.New(t, registrytest.WithListenAddr(loopbackAlias(t)),
		registrytest.WithMiddleware(tokenAuth(func() string { return "http://localhost:" + tport + "/token" })))
	conn := connection(r)
	conn.Username = "robot"
	_, err := policyLister(t, netpolicy.Options{Allow: []string{"127.0.0.2"}}).List(context.Background(), conn, "pw")
	if paths, _ := tokens.seen(); len(paths) > 0 {
		t.Fatalf("the realm on a denied address was contacted: %q", paths)
	}
	if !errors.Is(err, netpolicy.ErrDenied) {
		t.Fatalf("err = %v, want ErrDenied", err)
	}
}

// fail_reason is a fixed phrase and the status code: nothing the remote
// server wrote reaches it.
func TestFailReasonHidesRemoteBody(t *testing.T) {
	const marker = "PLANTED-MARKER-7f3a"
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{500, `{"errors":[{"code":"UNKNOWN","message":"` + marker + `"}]}`, "REQUEST_API_ERROR: server error (HTTP 500)"},
		{502, marker + strings.Repeat(" x", 500), "REQUEST_API_ERROR: server error (HTTP 502)"},
		{404, `{"errors":[{"code":"NAME_UNKNOWN","message":"` + marker + `"}]}`, "REQUEST_API_ERROR: not found (HTTP 404)"},
		{418, marker, "REQUEST_API_ERROR: bad response (HTTP 418)"},
		{401, marker, "REQUEST_API_ERROR: authentication failed (HTTP 401)"},
		{403, `{"errors":[{"code":"DENIED","message":"` + marker + `"}]}`, "REQUEST_API_ERROR: authentication failed (HTTP 403)"},
		{200, marker, "REQUEST_API_ERROR: bad response"}, // not JSON
	} {
		srv := newRecorder(t, func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/v2/" {
				return // 200: a registry without auth
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			fmt.Fprint(w, c.body)
		})
		conn := inventory.Registry{ID: 1, Addr: strings.TrimPrefix(srv.URL, "http://"), Protocol: "http"}
		_, err := policyLister(t, netpolicy.Options{Allow: []string{"127.0.0.1"}}).List(context.Background(), conn, "")
		reason := registry.FailReason(err)
		if strings.Contains(reason, marker) || strings.Contains(reason, "PLANTED") {
			t.Errorf("HTTP %d: fail reason reflects the body: %q", c.status, reason)
		}
		if !strings.HasPrefix(reason, c.want) {
			t.Errorf("HTTP %d: fail reason = %q, want prefix %q", c.status, reason, c.want)
		}
	}
}

// A port that accepts connections but is not an HTTP server gives the same
// fail_reason as a closed port: fail_reason is no port scanner.
func TestFailReasonPortOpenOrClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "SSH-2.0-OpenSSH_9.6 PLANTED-MARKER\r\n")
			c.Close()
		}
	}()
	open := ln.Addr().String()
	closedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	closedLn.Close()
	defer ln.Close()

	var reasons []string
	for _, addr := range []string{open, closed} {
		for _, proto := range []string{"http", "https"} {
			_, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), inventory.Registry{ID: 1, Addr: addr, Protocol: proto}, "")
			reasons = append(reasons, registry.FailReason(err))
		}
	}
	for _, r := range reasons {
		if r != "REQUEST_API_ERROR: connection failed while trying to list repositories" {
			t.Errorf("fail reasons = %q, want every one \"connection failed\"", reasons)
			break
		}
	}
}
