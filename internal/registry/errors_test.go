package registry_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

func TestListNamespace(t *testing.T) {
	f := newFixture(t)
	conn := connection(f.reg)
	conn.Namespace = "library"
	got, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	want := f.want
	want.Repositories = nil
	for _, r := range f.want.Repositories {
		if r.Namespace == "library" {
			want.Repositories = append(want.Repositories, r)
		}
	}
	keep := map[string]bool{}
	for _, r := range want.Repositories {
		for _, tag := range r.Tags {
			keep[tag.Digest], keep[tag.ManifestDigest] = true, true
		}
	}
	want.Manifests = nil
	for _, m := range f.want.Manifests {
		if keep[m.Digest] {
			want.Manifests = append(want.Manifests, m)
			for _, a := range m.Members {
				keep[a.Digest] = true
			}
		}
	}
	for _, m := range f.want.Manifests { // members listed after their index
		if keep[m.Digest] && !contains(want.Manifests, m.Digest) {
			want.Manifests = append(want.Manifests, m)
		}
	}
	diffSnapshots(t, got, want)
}

func contains(ms []inventory.Manifest, d string) bool {
	for _, m := range ms {
		if m.Digest == d {
			return true
		}
	}
	return false
}

func TestListBasicAuth(t *testing.T) {
	r := registrytest.New(t, registrytest.WithBasicAuth("robot", "s3cret"))
	img := r.PushImage(t, "private/app", "v1", registrytest.ImageOptions{Created: day("2024-01-01")})
	conn := connection(r)
	conn.Username = "robot"

	got, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), conn, "s3cret")
	if err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if len(got.Repositories) != 1 || len(got.Repositories[0].Tags) != 1 ||
		got.Repositories[0].Tags[0].Digest != mustDigest(t, img).String() {
		t.Fatalf("snapshot = %+v", got)
	}

	for _, c := range []struct{ user, pass string }{{"robot", "wrong"}, {"nobody", "s3cret"}, {"", ""}} {
		conn.Username = c.user
		_, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), conn, c.pass)
		var se *registry.SyncError
		if !errors.Is(err, registry.ErrAuth) || !errors.As(err, &se) || se.Kind != registry.KindAuth {
			t.Errorf("user %q password %q: err = %v, want ErrAuth", c.user, c.pass, err)
			continue
		}
		if reason := registry.FailReason(err); !strings.HasPrefix(reason, "REQUEST_API_ERROR: authentication failed") {
			t.Errorf("fail reason = %q", reason)
		}
	}
}

func TestListUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, proto := range []string{"http", "https"} {
		conn := inventory.Registry{ID: 1, Addr: addr, Protocol: proto}
		_, err = fastLister(t, registry.ListerOptions{}).List(context.Background(), conn, "")
		if !errors.Is(err, registry.ErrUnreachable) {
			t.Errorf("%s: err = %v, want ErrUnreachable", proto, err)
		}
		// The same phrase as a port that is open but does not speak HTTP
		// (TestFailReasonPortOpenOrClosed): no port scan through it.
		if reason := registry.FailReason(err); reason != "REQUEST_API_ERROR: connection failed while trying to list repositories" {
			t.Errorf("%s: fail reason = %q", proto, reason)
		}
	}
}

// An https connection to a plain-http registry must not quietly fall back
// to http (go-containerregistry would, for loopback addresses).
func TestListHTTPSIsNotDowngraded(t *testing.T) {
	r := registrytest.New(t)
	r.PushImage(t, "a/b", "v1", registrytest.ImageOptions{})
	conn := connection(r)
	conn.Protocol = "https"
	_, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), conn, "")
	if !errors.Is(err, registry.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

func TestListTimeout(t *testing.T) {
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-req.Context().Done():
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	r := registrytest.New(t, registrytest.WithMiddleware(slow))
	r.PushImage(t, "a/b", "v1", registrytest.ImageOptions{})
	_, err := fastLister(t, registry.ListerOptions{RequestTimeout: 200 * time.Millisecond}).List(context.Background(), connection(r), "")
	if !errors.Is(err, registry.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// The whole-listing limit gives the same error.
	_, err = fastLister(t, registry.ListerOptions{ListTimeout: 200 * time.Millisecond}).List(context.Background(), connection(r), "")
	if !errors.Is(err, registry.ErrTimeout) {
		t.Fatalf("list timeout: err = %v, want ErrTimeout", err)
	}
}

// A repository that fails alone is reported in Failed; the rest is listed.
// When every repository fails, the connection fails.
func TestListRepositoryFailure(t *testing.T) {
	var failAll atomic.Bool
	failing := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasPrefix(req.URL.Path, "/v2/bad/repo/") ||
				failAll.Load() && strings.HasSuffix(req.URL.Path, "/tags/list") {
				http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}`, http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	r := registrytest.New(t, registrytest.WithMiddleware(failing))
	good := r.PushImage(t, "good/repo", "v1", registrytest.ImageOptions{})
	r.PushImage(t, "bad/repo", "v1", registrytest.ImageOptions{})
	r.PushImage(t, "single", "v1", registrytest.ImageOptions{})

	got, err := fastLister(t, registry.ListerOptions{}).List(context.Background(), connection(r), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Failed) != 1 || got.Failed[0] != "bad/repo" {
		t.Errorf("failed = %q, want [bad/repo]", got.Failed)
	}
	if len(got.Repositories) != 2 {
		t.Fatalf("repositories = %+v", got.Repositories)
	}
	for _, repo := range got.Repositories {
		if repo.Namespace == "good" && repo.Tags[0].Digest != mustDigest(t, good).String() {
			t.Errorf("good/repo = %+v", repo)
		}
	}

	failAll.Store(true)
	_, err = fastLister(t, registry.ListerOptions{}).List(context.Background(), connection(r), "")
	if !errors.Is(err, registry.ErrUnreachable) {
		t.Fatalf("every repository failing: err = %v, want ErrUnreachable", err)
	}
}
