package hssapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/iam/iamtest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// base is the ms timestamp seeded rows are created around.
const base = int64(1_700_000_000_000)

const (
	projA = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	projB = "ffeeddccbbaa99887766554433221100"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a running API over a real SQLite store and the real IAM.
type testEnv struct {
	url    string
	store  *sqlite.Store
	iam    *iam.Service
	box    *secret.Box
	now    time.Time    // the clock's start; see clock
	skew   atomic.Int64 // ns added to now, moved by advance
	logs   *syncBuffer
	reg    *prometheus.Registry
	syncer *registry.Syncer

	akA, skA   string // project A, every enterprise project
	akEP, skEP string // project A, only enterprise project "ep1"
	akB, skB   string // project B, every enterprise project
	userA      inventory.User

	regs map[string]inventory.Registry // seeded connections by short name
}

type envOption func(*hssapi.Config)

// loopbackPolicy is the default network policy plus 127.0.0.1, where
// registrytest serves (other loopback addresses stay denied).
func loopbackPolicy(t *testing.T) *netpolicy.Policy {
	t.Helper()
	p, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// allowLoopback lets the API accept registries on 127.0.0.1.
func allowLoopback(t *testing.T) envOption {
	return func(c *hssapi.Config) { c.NetPolicy = loopbackPolicy(t) }
}

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{
		store: st, box: box,
		now:  time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		logs: &syncBuffer{},
		reg:  prometheus.NewRegistry(),
		regs: map[string]inventory.Registry{},
	}
	clock := e.clock
	e.iam, err = iam.New(iam.Options{Store: st, Box: box, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// The syncer reaches registrytest's registries on 127.0.0.1, which the
	// default network policy denies; what the API accepts at POST/PUT is
	// Config.NetPolicy's (the default unless a test passes allowLoopback).
	rt := registry.NewTransport(loopbackPolicy(t))
	quiet := slog.New(slog.DiscardHandler)
	e.syncer = newSyncer(t, st, box, rt, quiet)

	e.akA, e.skA = e.credential(t, projA, inventory.Grant{All: true})
	e.akEP, e.skEP = e.credential(t, projA, inventory.Grant{IDs: []string{"ep1"}})
	e.akB, e.skB = e.credential(t, projB, inventory.Grant{All: true})
	e.userA, err = e.iam.CreateUser(ctx, projA, "alice", "correct-horse", inventory.Grant{All: true})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	e.seed(t)

	cfg := hssapi.Config{
		Store:       st,
		IAM:         e.iam,
		Box:         box,
		Sync:        e.syncer,
		Scans:       newRequester(t, newScanService(t, st, box, rt, quiet), st, 0, 0),
		ScanResults: st,
		Findings:    st,
		Tasks:       st,
		Whitelists:  st,
		Policies:    st,
		Logger:      slog.New(slog.NewJSONHandler(e.logs, nil)),
		Registerer:  e.reg,
		Now:         clock,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(newHandler(t, cfg))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// clock is the server's (and IAM's) time; tests move it with advance.
func (e *testEnv) clock() time.Time { return e.now.Add(time.Duration(e.skew.Load())) }

func (e *testEnv) advance(d time.Duration) { e.skew.Add(int64(d)) }

func (e *testEnv) credential(t *testing.T, project string, g inventory.Grant) (string, string) {
	t.Helper()
	ak, sk, err := e.iam.CreateCredential(context.Background(), project, g, "test")
	if err != nil {
		t.Fatalf("create credential: %v", err)
	}
	return ak, sk
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// seed fills the store through its own interfaces: registry connections,
// one sync snapshot each, scan results and a local image.
func (e *testEnv) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	mk := func(name string, r inventory.Registry) inventory.Registry {
		r.Name, r.Protocol, r.APIVersion = name, "https", "V2"
		got, err := e.store.CreateRegistry(ctx, r)
		if err != nil {
			t.Fatalf("create registry %s: %v", name, err)
		}
		e.regs[name] = got
		return got
	}
	r1 := mk("r1", inventory.Registry{ProjectID: projA, EnterpriseProjectID: "0", Type: inventory.Harbor, Addr: "harbor.example.com", Username: "robot"})
	r2 := mk("r2", inventory.Registry{ProjectID: projA, EnterpriseProjectID: "ep1", Type: inventory.SwrShared, Addr: "swr.example.com", DomainName: "owner_x"})
	r3 := mk("r3", inventory.Registry{ProjectID: projA, EnterpriseProjectID: "0", Type: inventory.SwrEnterprise, Addr: "ent.example.com",
		InstanceID: "inst-1", InstanceName: "prod-instance", InstanceURL: "https://ent.example.com"})
	rb := mk("rb", inventory.Registry{ProjectID: projB, EnterpriseProjectID: "0", Type: inventory.Harbor, Addr: "harbor.example.com"})

	img := func(name string, created, size int64) inventory.Manifest {
		return inventory.Manifest{Digest: digest(name), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: size, Created: created, Platform: "linux/amd64", Scannable: true}
	}
	m := map[string]inventory.Manifest{}
	for i, n := range []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11", "m12"} {
		m[n] = img(n, base+int64(i+1)*1000, int64(i+1)*100)
	}
	m["m8"] = inventory.Manifest{Digest: digest("m8"), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: 800, Created: base + 7000, Platform: "linux/arm64", Scannable: true}
	idx := inventory.Manifest{Digest: digest("mi"), MediaType: "application/vnd.oci.image.index.v1+json",
		Members: []inventory.Association{
			{Digest: m["m7"].Digest, Platform: "linux/amd64", ScanStatus: inventory.Unscan},
			{Digest: m["m8"].Digest, Platform: "linux/arm64", ScanStatus: inventory.Unscan},
		}}
	tag := func(t, md string) inventory.TagRef {
		return inventory.TagRef{Tag: t, Digest: m[md].Digest, ManifestDigest: m[md].Digest}
	}
	apply := func(r inventory.Registry, repos []inventory.RepoSnapshot, ms ...inventory.Manifest) {
		if _, err := e.store.ApplySync(ctx, inventory.Snapshot{RegistryID: r.ID, Repositories: repos, Manifests: ms, SeenAt: base}); err != nil {
			t.Fatalf("apply sync of %s: %v", r.Name, err)
		}
	}
	apply(r1, []inventory.RepoSnapshot{
		{Namespace: "library", Name: "nginx", Tags: []inventory.TagRef{tag("1.25", "m1"), tag("1.26", "m2"), tag("latest", "m2")}},
		{Namespace: "team", Name: "a_b", Tags: []inventory.TagRef{tag("v1", "m3")}},
		{Namespace: "team", Name: "axb", Tags: []inventory.TagRef{tag("v1", "m4")}},
		{Namespace: "team", Name: "50%off", Tags: []inventory.TagRef{tag("v1", "m5")}},
		{Namespace: "team", Name: "50xoff", Tags: []inventory.TagRef{tag("v1", "m6")}},
		{Namespace: "library", Name: "multi", Tags: []inventory.TagRef{{Tag: "v2", Digest: idx.Digest, ManifestDigest: m["m7"].Digest}}},
	}, m["m1"], m["m2"], m["m3"], m["m4"], m["m5"], m["m6"], m["m7"], m["m8"], idx)
	apply(r2, []inventory.RepoSnapshot{{Namespace: "shared", Name: "mysql", Tags: []inventory.TagRef{tag("5.7", "m9")}}}, m["m9"])
	apply(r3, []inventory.RepoSnapshot{{Namespace: "corp", Name: "api", Tags: []inventory.TagRef{tag("2.0", "m10")}}}, m["m10"])
	apply(rb, []inventory.RepoSnapshot{{Namespace: "library", Name: "nginx", Tags: []inventory.TagRef{tag("b-only", "m11")}}}, m["m11"])

	for d, r := range map[string]inventory.ScanResult{
		"m1": {Status: inventory.ScanSuccess, ScanTime: base + 10, VulNum: 3},
		"m2": {Status: inventory.ScanSuccess, ScanTime: base + 40},
		"m3": {Status: inventory.ScanSuccess, ScanTime: base + 20, UnsafeSettingNum: 2, MaliciousFileNum: 1},
		"m4": {Status: inventory.ScanFailed, FailedDesc: "unknown_error", ScanTime: base + 30},
	} {
		if err := e.store.SetScanResult(ctx, digest(d), r); err != nil {
			t.Fatalf("scan result: %v", err)
		}
	}
	if _, err := e.store.PutLocalImage(ctx, inventory.Image{ProjectID: projA, Type: inventory.LocalImage, Namespace: "local",
		Name: "tarball", Tag: "t1", Digest: m["m12"].Digest}, []inventory.Manifest{m["m12"]}); err != nil {
		t.Fatalf("local image: %v", err)
	}
}

// snapshot renders everything the API could change, to prove a refused
// request changed nothing.
func (e *testEnv) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, p := range []string{projA, projB} {
		for _, typ := range []inventory.ImageType{inventory.PrivateImage, inventory.SharedImage, inventory.LocalImage, inventory.InstanceImage} {
			page, err := e.store.ListImages(ctx, inventory.Filter{ProjectID: p, Type: typ, Limit: 1000})
			if err != nil {
				t.Fatalf("snapshot images: %v", err)
			}
			fmt.Fprintf(&b, "%s %s %d %+v\n", p, typ, page.Total, page.Images)
		}
		regs, n, err := e.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: p, Limit: 1000})
		if err != nil {
			t.Fatalf("snapshot registries: %v", err)
		}
		fmt.Fprintf(&b, "%s registries %d %+v\n", p, n, regs)
	}
	return b.String()
}

// --- requests ---

type reqSpec struct {
	Method, Target string // Target is path?query
	Body           []byte
	// Credentials: AK/SK of project A unless set; Token sends X-Auth-Token
	// instead; NoAuth sends neither.
	AK, SK string
	Token  string
	NoAuth bool
	Date   time.Time         // X-Sdk-Date; default the server clock
	Header map[string]string // set before signing (so signed)
	// After signing: Tamper edits the request, SendBody replaces the body.
	Tamper   func(*http.Request)
	SendBody []byte
}

type result struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

func (e *testEnv) do(t *testing.T, s reqSpec) result {
	t.Helper()
	if s.Method == "" {
		s.Method = http.MethodGet
	}
	r, err := http.NewRequest(s.Method, e.url+s.Target, bytes.NewReader(s.Body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("User-Agent", "hssapi-test")
	if s.Body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(r.URL.Path, "/v5/") {
		r.Header.Set("X-Project-Id", strings.Split(r.URL.Path, "/")[2])
	}
	for k, v := range s.Header {
		r.Header.Set(k, v)
	}
	switch {
	case s.NoAuth:
	case s.Token != "":
		r.Header.Set("X-Auth-Token", s.Token)
	default:
		ak, sk := s.AK, s.SK
		if ak == "" {
			ak, sk = e.akA, e.skA
		}
		at := s.Date
		if at.IsZero() {
			at = e.clock()
		}
		if err := iamtest.SignRequest(r, s.Body, ak, sk, at); err != nil {
			t.Fatal(err)
		}
	}
	if s.Tamper != nil {
		s.Tamper(r)
	}
	if s.SendBody != nil {
		r.Body = io.NopCloser(bytes.NewReader(s.SendBody))
		r.ContentLength = int64(len(s.SendBody))
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", s.Method, s.Target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&res.JSON); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", s.Method, s.Target, err, raw)
		}
	}
	return res
}

// wantError checks the HSS error envelope exactly.
func wantError(t *testing.T, r result, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if len(r.JSON) != 2 {
		t.Fatalf("error body has %d fields, want error_code and error_msg: %s", len(r.JSON), r.Raw)
	}
	if got, _ := r.JSON["error_code"].(string); got != code {
		t.Fatalf("error_code = %v, want %s; body %s", r.JSON["error_code"], code, r.Raw)
	}
	if msg, _ := r.JSON["error_msg"].(string); msg == "" {
		t.Fatalf("error_msg empty: %s", r.Raw)
	}
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
