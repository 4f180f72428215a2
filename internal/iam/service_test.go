package iam

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/iam/iamtest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// testService is a Service over a real SQLite file whose clock the test moves.
type testService struct {
	*Service
	store *sqlite.Store
	now   time.Time
}

func newTestService(t *testing.T) *testService {
	t.Helper()
	return newTestServiceWith(t, Options{})
}

// newTestServiceWith is newTestService with o's other options (Store, Box
// and Now are its own).
func newTestServiceWith(t *testing.T, o Options) *testService {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testService{store: st, now: t0}
	o.Store, o.Box, o.Now = st, box, func() time.Time { return ts.now }
	ts.Service, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// New refuses a Service without its store or box: the mistake shows at
// start, not as a nil dereference at the first signed request.
func TestNewRequiresStoreAndBox(t *testing.T) {
	ts := newTestService(t)
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"no store", Options{Box: ts.box}, false},
		{"no box", Options{Store: ts.store}, false},
		{"neither", Options{}, false},
		{"both", Options{Store: ts.store, Box: ts.box}, true},
	} {
		svc, err := New(tc.o)
		if tc.ok != (err == nil) || tc.ok != (svc != nil) {
			t.Errorf("%s: New = %v, %v; want ok=%v", tc.name, svc, err, tc.ok)
		}
	}
}

// sdkRequest is a request shaped like the SDK's: user-agent, x-project-id and
// region signed, content-type not.
func sdkRequest(t *testing.T, method, target, body, project, ak, sk string, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
	if project != "" {
		r.Header.Set("X-Project-Id", project)
	}
	r.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if err := iamtest.SignRequest(r, []byte(body), ak, sk, at); err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	akPattern = regexp.MustCompile(`^[A-Z0-9]{20}$`)
	skPattern = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
)

func TestCreateCredential(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	ak, sk, err := s.CreateCredential(ctx, "proj1", inventory.Grant{IDs: []string{"0", "ep-1", "0"}}, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !akPattern.MatchString(ak) || !skPattern.MatchString(sk) {
		t.Fatalf("access key %q / secret key of %d chars do not have Huawei's shapes", ak, len(sk))
	}
	ak2, sk2, err := s.CreateCredential(ctx, "proj1", inventory.Grant{All: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if ak2 == ak || sk2 == sk {
		t.Fatal("two credentials share a key")
	}

	c, err := s.store.GetCredential(ctx, ak)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(c.SecretSealed), sk) {
		t.Fatal("the secret key is stored in clear")
	}
	if want := (inventory.Grant{IDs: []string{"0", "ep-1"}}); !reflect.DeepEqual(c.Grant, want) {
		t.Fatalf("grant %+v, want %+v (deduplicated)", c.Grant, want)
	}
	if p, err := s.store.GetProject(ctx, "proj1"); err != nil || p.Name != DefaultRegion {
		t.Fatalf("project = %+v, %v; want it created and named %s", p, err, DefaultRegion)
	}
	list, err := s.ListCredentials(ctx, "proj1")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListCredentials = %d, %v", len(list), err)
	}

	bad := []struct {
		name    string
		project string
		grant   inventory.Grant
		desc    string
	}{
		{"empty project", "", inventory.Grant{All: true}, ""},
		{"project with slash", "a/b", inventory.Grant{All: true}, ""},
		{"project too long", strings.Repeat("p", 65), inventory.Grant{All: true}, ""},
		{"empty grant", "proj1", inventory.Grant{}, ""},
		{"bad enterprise project", "proj1", inventory.Grant{IDs: []string{"ep 1"}}, ""},
		{"long description", "proj1", inventory.Grant{All: true}, strings.Repeat("d", 256)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.CreateCredential(ctx, tt.project, tt.grant, tt.desc); !errors.Is(err, ErrInvalid) {
				t.Fatalf("CreateCredential = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestAuthenticateSignature(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	grant := inventory.Grant{IDs: []string{"0", "ep-1"}}
	ak, sk, err := s.CreateCredential(ctx, "proj1", grant, "")
	if err != nil {
		t.Fatal(err)
	}
	revokedAK, revokedSK, err := s.CreateCredential(ctx, "proj1", grant, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeCredential(ctx, revokedAK); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeCredential(ctx, "NOSUCHKEY"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("RevokeCredential of an unknown key = %v", err)
	}
	const target = "http://127.0.0.1/v5/proj1/image/swr-repository?image_type=private_image"

	t.Run("valid", func(t *testing.T) {
		r := sdkRequest(t, "GET", target, "", "proj1", ak, sk, t0)
		p, err := s.Authenticate(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := Principal{ProjectID: "proj1", Grant: grant, AccessKey: ak, SignedProjectID: "proj1"}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("principal %+v, want %+v", p, want)
		}
		if err := p.CheckProject("proj1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no project id header", func(t *testing.T) {
		r := sdkRequest(t, "GET", "http://127.0.0.1/v3/projects?name=local-1", "", "", ak, sk, t0)
		p, err := s.Authenticate(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.SignedProjectID != "" || p.ProjectID != "proj1" {
			t.Fatalf("principal %+v", p)
		}
		if got := s.ProjectsForCaller(p, "local-1"); !reflect.DeepEqual(got, []ProjectRef{{ID: "proj1", Name: "local-1"}}) {
			t.Fatalf("ProjectsForCaller = %+v", got)
		}
		if got := s.ProjectsForCaller(p, ""); len(got) != 1 {
			t.Fatalf("ProjectsForCaller without a name = %+v", got)
		}
		if got := s.ProjectsForCaller(p, "cn-north-4"); got == nil || len(got) != 0 {
			t.Fatalf("ProjectsForCaller of another region = %#v, want an empty list", got)
		}
	})
	t.Run("signed project id for another project", func(t *testing.T) {
		r := sdkRequest(t, "GET", "http://127.0.0.1/v5/proj2/image/swr-repository", "", "proj2", ak, sk, t0)
		p, err := s.Authenticate(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.CheckProject("proj2"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("CheckProject(proj2) = %v", err)
		}
	})

	rejects := []struct {
		name string
		req  func() *http.Request
	}{
		{"no credentials", func() *http.Request { return httptest.NewRequest("GET", target, nil) }},
		{"unknown access key", func() *http.Request { return sdkRequest(t, "GET", target, "", "proj1", "NOSUCHKEYNOSUCHKEY00", sk, t0) }},
		{"wrong secret", func() *http.Request {
			return sdkRequest(t, "GET", target, "", "proj1", ak, strings.ToLower(sk)+"x", t0)
		}},
		{"revoked credential", func() *http.Request { return sdkRequest(t, "GET", target, "", "proj1", revokedAK, revokedSK, t0) }},
		{"16 minutes old", func() *http.Request {
			return sdkRequest(t, "GET", target, "", "proj1", ak, sk, t0.Add(-16*time.Minute))
		}},
		{"malformed authorization", func() *http.Request {
			r := httptest.NewRequest("GET", target, nil)
			r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			return r
		}},
		{"token and signature", func() *http.Request {
			r := sdkRequest(t, "GET", target, "", "proj1", ak, sk, t0)
			r.Header.Set("X-Auth-Token", "x")
			return r
		}},
		{"two authorization headers", func() *http.Request {
			r := sdkRequest(t, "GET", target, "", "proj1", ak, sk, t0)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Authenticate(ctx, tt.req(), nil)
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Authenticate = %v, want ErrUnauthenticated", err)
			}
			if strings.Contains(err.Error(), sk) || strings.Contains(err.Error(), revokedSK) {
				t.Fatalf("error %q leaks a secret key", err)
			}
		})
	}

	t.Run("body is covered", func(t *testing.T) {
		body := `{"a":1}`
		r := sdkRequest(t, "POST", target, body, "proj1", ak, sk, t0)
		if _, err := s.Authenticate(ctx, r, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, r, []byte(`{"a":2}`)); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Authenticate with another body = %v", err)
		}
	})
}

func TestUsersAndTokens(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	grant := inventory.Grant{IDs: []string{"0", "ep-1"}}
	u, err := s.CreateUser(ctx, "proj1", "alice", "correct horse", grant)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || u.ProjectID != "proj1" || u.Name != "alice" || strings.Contains(u.PasswordHash, "correct horse") {
		t.Fatalf("user %+v", u)
	}
	if _, err := s.CreateUser(ctx, "proj1", "alice", "another password", grant); !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("duplicate CreateUser = %v, want ErrConflict", err)
	}
	for _, tt := range []struct{ name, user, password string }{
		{"short password", "bob", "1234567"},
		{"long password", "bob", strings.Repeat("p", 73)},
		{"empty name", "", "long enough"},
		{"name with space", "b ob", "long enough"},
	} {
		if _, err := s.CreateUser(ctx, "proj1", tt.user, tt.password, grant); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: CreateUser = %v, want ErrInvalid", tt.name, err)
		}
	}

	byID := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"correct horse","domain":{"name":"acme"}}}},"scope":{"project":{"id":"proj1"}}}}`
	token, tok, user, err := s.IssueToken(ctx, []byte(byID))
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 43 || user.ID != u.ID || tok.ProjectID != "proj1" || !reflect.DeepEqual(tok.Grant, grant) {
		t.Fatalf("token %d chars, tok %+v, user %+v", len(token), tok, user)
	}
	if tok.ExpiresAt-tok.CreatedAt != (24 * time.Hour).Milliseconds() {
		t.Fatalf("token lives %d ms, want 24 h", tok.ExpiresAt-tok.CreatedAt)
	}
	if tok.Hash == token || strings.Contains(tok.Hash, token) {
		t.Fatal("the token is stored in clear")
	}

	withToken := func(tk string) *http.Request {
		r := httptest.NewRequest("GET", "http://127.0.0.1/v5/proj1/image/swr-repository", nil)
		r.Header.Set("X-Auth-Token", tk)
		return r
	}
	p, err := s.Authenticate(ctx, withToken(token), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Principal{ProjectID: "proj1", Grant: grant, UserID: u.ID, Role: inventory.RoleAdmin}); !reflect.DeepEqual(p, want) {
		t.Fatalf("principal %+v, want %+v", p, want)
	}

	t.Run("token body", func(t *testing.T) {
		b, err := s.TokenBody(tok, user)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Token struct {
				ExpiresAt string   `json:"expires_at"`
				IssuedAt  string   `json:"issued_at"`
				Methods   []string `json:"methods"`
				Project   struct{ ID, Name string }
				User      struct{ ID, Name string }
			}
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Token.IssuedAt != "2024-01-02T03:04:05.000000Z" || got.Token.ExpiresAt != "2024-01-03T03:04:05.000000Z" ||
			!reflect.DeepEqual(got.Token.Methods, []string{"password"}) ||
			got.Token.Project.ID != "proj1" || got.Token.Project.Name != "local-1" ||
			got.Token.User.Name != "alice" || got.Token.User.ID == "" {
			t.Fatalf("token body %s", b)
		}
		if strings.Contains(string(b), token) {
			t.Fatal("the body carries the token (it belongs in X-Subject-Token)")
		}
	})

	t.Run("scope by region name", func(t *testing.T) {
		body := strings.Replace(byID, `{"id":"proj1"}`, `{"name":"local-1"}`, 1)
		if _, tok2, _, err := s.IssueToken(ctx, []byte(body)); err != nil || tok2.ProjectID != "proj1" {
			t.Fatalf("IssueToken by project name = %+v, %v", tok2, err)
		}
	})

	unauth := []struct{ name, body string }{
		{"wrong password", strings.Replace(byID, "correct horse", "wrong horse", 1)},
		{"unknown user", strings.Replace(byID, `"alice"`, `"mallory"`, 1)},
		{"other project", strings.Replace(byID, `"proj1"`, `"proj2"`, 1)},
		{"other region name", strings.Replace(byID, `{"id":"proj1"}`, `{"name":"cn-north-4"}`, 1)},
	}
	for _, tt := range unauth {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := s.IssueToken(ctx, []byte(tt.body)); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("IssueToken = %v, want ErrUnauthenticated", err)
			}
		})
	}
	malformed := []struct{ name, body string }{
		{"not json", `{"auth":`},
		{"trailing data", byID + `{}`},
		{"empty object", `{}`},
		{"token method", strings.Replace(byID, `["password"]`, `["token"]`, 1)},
		{"two methods", strings.Replace(byID, `["password"]`, `["password","totp"]`, 1)},
		{"methods not a list", strings.Replace(byID, `["password"]`, `"password"`, 1)},
		{"no user name", strings.Replace(byID, `"name":"alice",`, `"id":"7",`, 1)},
		{"no password", strings.Replace(byID, `"password":"correct horse",`, ``, 1)},
		{"no scope", strings.Replace(byID, `,"scope":{"project":{"id":"proj1"}}`, ``, 1)},
		{"domain scope", strings.Replace(byID, `"project":{"id":"proj1"}`, `"domain":{"name":"acme"}`, 1)},
		{"too large", `{"auth":{"x":"` + strings.Repeat("a", 70<<10) + `"}}`},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := s.IssueToken(ctx, []byte(tt.body)); !errors.Is(err, ErrBadRequest) {
				t.Fatalf("IssueToken = %v, want ErrBadRequest", err)
			}
		})
	}

	t.Run("ambiguous name across projects", func(t *testing.T) {
		if _, err := s.CreateUser(ctx, "proj2", "carol", "password 1", grant); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, "proj3", "carol", "password 2", grant); err != nil {
			t.Fatal(err)
		}
		body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"carol","password":"password 1"}}},"scope":{"project":{"name":"local-1"}}}}`
		if _, _, _, err := s.IssueToken(ctx, []byte(body)); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("IssueToken = %v, want ErrBadRequest", err)
		}
		body = strings.Replace(body, `{"name":"local-1"}`, `{"id":"proj2"}`, 1)
		if _, tk, _, err := s.IssueToken(ctx, []byte(body)); err != nil || tk.ProjectID != "proj2" {
			t.Fatalf("IssueToken by id = %+v, %v", tk, err)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		defer func() { s.now = t0 }()
		s.now = t0.Add(24*time.Hour - time.Second)
		if _, err := s.Authenticate(ctx, withToken(token), nil); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		s.now = t0.Add(24 * time.Hour)
		if _, err := s.Authenticate(ctx, withToken(token), nil); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("at expiry: %v", err)
		}
	})

	t.Run("unknown and malformed tokens", func(t *testing.T) {
		for _, tk := range []string{token + "x", strings.Repeat("t", maxTokenLen+1)} {
			if _, err := s.Authenticate(ctx, withToken(tk), nil); !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Authenticate = %v", err)
			}
		}
	})

	t.Run("revoked", func(t *testing.T) {
		if err := s.RevokeToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(ctx, withToken(token), nil)
		if !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Authenticate with a revoked token = %v", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Fatalf("error %q leaks the token", err)
		}
		if err := s.RevokeToken(ctx, "no-such-token"); !errors.Is(err, inventory.ErrNotFound) {
			t.Fatalf("RevokeToken of an unknown token = %v", err)
		}
	})
}
