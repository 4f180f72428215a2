package sdkcompat

// Signer compatibility: requests built and signed by the official SDK's own
// code (core/request builder, BasicCredentials.ProcessAuthRequest,
// core/auth/signer) and put on the wire the way its transport does must pass
// iam.Verify, and any change to a signed part must fail it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/iam"
)

const (
	sigAK      = "QWERTYUIOPASDFGHJKL1"
	sigSK      = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123"
	sigProject = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	sigDate    = "20240102T030405Z"
)

var sigNow = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func sigStr(s string) *string { return &s }

// sdkRequestCase is a request as a generated service client would build it:
// path with placeholders, query values wrapped in reflect.Value, headers from
// the model, a body struct.
type sdkRequestCase struct {
	name      string
	method    string
	path      string
	pathParam map[string]string
	query     map[string]any
	headers   map[string]string
	body      any
	projectID string // "" signs like a client that has not resolved its project
	direct    bool   // sign with signer.Sign instead of BasicCredentials
}

var sdkCases = []sdkRequestCase{
	{
		name:   "list with filters",
		method: "GET", path: "/v5/{project_id}/image/swr-repository",
		query: map[string]any{
			"image_type":            reflect.ValueOf("private_image"),
			"offset":                reflect.ValueOf(int32(0)),
			"limit":                 reflect.ValueOf(int32(10)),
			"namespace":             reflect.ValueOf(""),
			"image_name":            reflect.ValueOf("a b+c/é&=?%"),
			"scan_status":           reflect.ValueOf("success"),
			"enterprise_project_id": reflect.ValueOf("all_granted_eps"),
		},
		headers:   map[string]string{"Region": "local-1"},
		projectID: sigProject,
	},
	{
		name:   "multi-valued query",
		method: "GET", path: "/v5/{project_id}/image/swr-repository",
		query: map[string]any{
			"image_type": reflect.ValueOf("private_image"),
			"tags":       reflect.ValueOf([]string{"z", "a", "m m"}),
		},
		projectID: sigProject,
	},
	{
		name:   "no query",
		method: "GET", path: "/v5/{project_id}/image/swr-repository",
		projectID: sigProject,
	},
	{
		name:   "post with JSON body",
		method: "POST", path: "/v5/{project_id}/image/synchronize",
		query:     map[string]any{"enterprise_project_id": reflect.ValueOf("0")},
		headers:   map[string]string{"Region": "local-1"},
		body:      &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"},
		projectID: sigProject,
	},
	{
		name:   "put with map body and unicode",
		method: "PUT", path: "/v5/{project_id}/image/registries/{id}",
		pathParam: map[string]string{"id": "42"},
		body:      map[string]any{"name": "régistry <&>", "port": 5000},
		projectID: sigProject,
	},
	{
		name:   "delete with odd path parameter",
		method: "DELETE", path: "/v5/{project_id}/{resource_type}/{resource_id}/tags/delete",
		pathParam: map[string]string{"resource_type": "hss", "resource_id": "a b:c@d"},
		body:      map[string]any{"tags": []map[string]string{{"key": "k"}}},
		projectID: sigProject,
	},
	{
		name:   "without project id",
		method: "GET", path: "/v5/" + sigProject + "/image/swr-repository",
		query:   map[string]any{"image_type": reflect.ValueOf("local_image")},
		headers: map[string]string{"Region": "local-1"},
	},
	{
		name:   "keystone project lookup",
		method: "GET", path: "/v3/projects",
		query:  map[string]any{"name": reflect.ValueOf("local-1")},
		direct: true,
	},
	{
		name:   "trailing slash path",
		method: "GET", path: "/v5/{project_id}/image/swr-repository/",
		projectID: sigProject,
	},
}

// build makes and signs the case's request with the SDK and returns it as a
// server receives it, with its raw body.
func (c sdkRequestCase) build(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	b := request.NewHttpRequestBuilder().
		WithEndpoint("http://127.0.0.1:8080").
		WithPath(c.path).
		WithMethod(c.method).
		WithSigningAlgorithm(config.DefaultHttpConfig().SigningAlgorithm).
		AddHeaderParam("X-Sdk-Date", sigDate) // pins the signing time
	if !c.direct {
		// What HcHttpClient adds; the IAM project lookup goes straight
		// through DefaultHttpClient and has neither.
		b.AddHeaderParam("User-Agent", "huaweicloud-usdk-go/3.0; openhss-sdkcompat")
		b.AddHeaderParam("Content-Type", "application/json")
	}
	for k, v := range c.pathParam {
		b.AddPathParam(k, v)
	}
	for k, v := range c.query {
		b.AddQueryParam(k, v)
	}
	for k, v := range c.headers {
		b.AddHeaderParam(k, v)
	}
	if c.body != nil {
		b.WithBody("", c.body)
	}
	req := b.Build()

	if c.direct {
		extra, err := signer.Sign(req, sigAK, sigSK)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range extra {
			req.AddHeaderParam(k, v)
		}
	} else {
		cb := basic.NewCredentialsBuilder().WithAk(sigAK).WithSk(sigSK)
		if c.projectID != "" {
			cb = cb.WithProjectId(c.projectID)
		}
		cred, err := cb.SafeBuild()
		if err != nil {
			t.Fatal(err)
		}
		client := impl.NewDefaultHttpClient(config.DefaultHttpConfig())
		if req, err = cred.ProcessAuthRequest(client, req); err != nil {
			t.Fatal(err)
		}
	}
	hr, err := req.ConvertRequest()
	if err != nil {
		t.Fatal(err)
	}
	return overTheWire(t, hr)
}

// overTheWire serializes a client request as Go's transport does and parses
// it back as Go's server does, so the verifier sees exactly what a handler
// would: escaped path decoded, query raw, header keys canonical.
func overTheWire(t *testing.T, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

func authorization(t *testing.T, r *http.Request) iam.Authorization {
	t.Helper()
	a, err := iam.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatalf("the SDK's Authorization header does not parse: %v", err)
	}
	return a
}

func TestSignerAcceptsSDKRequests(t *testing.T) {
	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			r, body := c.build(t)
			a := authorization(t, r)
			if a.AccessKey != sigAK || !a.Signs("x-sdk-date") {
				t.Fatalf("unexpected Authorization %+v", a)
			}
			if c.projectID != "" && !a.Signs("x-project-id") {
				t.Fatalf("the SDK did not sign X-Project-Id: %+v", a.SignedHeaders)
			}
			if c.direct && !reflect.DeepEqual(a.SignedHeaders, []string{"x-sdk-date"}) {
				t.Fatalf("the project lookup signed %v, want only x-sdk-date", a.SignedHeaders)
			}
			if a.Signs("content-type") || a.Signs("host") {
				t.Fatalf("the SDK signed content-type or host: %+v", a.SignedHeaders)
			}
			if err := iam.Verify(r, body, a, sigSK, sigNow, iam.DefaultMaxClockSkew); err != nil {
				t.Fatalf("Verify rejected the SDK's request %s %s: %v", r.Method, r.URL, err)
			}
		})
	}
}

func TestSignerRejectsChangedSDKRequests(t *testing.T) {
	base := sdkCases[0]
	post := sdkCases[3]
	tests := []struct {
		name   string
		c      sdkRequestCase
		now    time.Time
		mutate func(r *http.Request, body []byte) []byte
	}{
		{"method", base, sigNow, func(r *http.Request, b []byte) []byte { r.Method = "DELETE"; return b }},
		{"path", base, sigNow, func(r *http.Request, b []byte) []byte {
			r.URL.Path = strings.Replace(r.URL.Path, sigProject, "ffffffffffffffffffffffffffffffff", 1)
			return b
		}},
		{"query value", base, sigNow, func(r *http.Request, b []byte) []byte {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "limit=10", "limit=11", 1)
			return b
		}},
		{"query param added", base, sigNow, func(r *http.Request, b []byte) []byte { r.URL.RawQuery += "&latest_version=true"; return b }},
		{"query param dropped", base, sigNow, func(r *http.Request, b []byte) []byte {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "scan_status=success", "", 1)
			return b
		}},
		{"empty query value filled", base, sigNow, func(r *http.Request, b []byte) []byte {
			q := r.URL.Query()
			q.Set("namespace", "team")
			r.URL.RawQuery = q.Encode()
			return b
		}},
		{"region header", base, sigNow, func(r *http.Request, b []byte) []byte { r.Header.Set("Region", "cn-north-4"); return b }},
		{"user agent", base, sigNow, func(r *http.Request, b []byte) []byte { r.Header.Set("User-Agent", "curl/8"); return b }},
		{"x-project-id", base, sigNow, func(r *http.Request, b []byte) []byte {
			r.Header.Set("X-Project-Id", "ffffffffffffffffffffffffffffffff")
			return b
		}},
		{"x-sdk-date", base, sigNow, func(r *http.Request, b []byte) []byte { r.Header.Set("X-Sdk-Date", "20240102T030406Z"); return b }},
		{"clock 16 minutes ahead", base, sigNow.Add(16 * time.Minute), nil},
		{"clock 16 minutes behind", base, sigNow.Add(-16 * time.Minute), nil},
		{"body", post, sigNow, func(r *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("private_image"), []byte("shared_image"), 1)
		}},
		{"body whitespace", post, sigNow, func(r *http.Request, b []byte) []byte { return bytes.TrimSpace(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.c.build(t)
			a := authorization(t, r)
			if tt.mutate != nil {
				body = tt.mutate(r, body)
			}
			err := iam.Verify(r, body, a, sigSK, tt.now, iam.DefaultMaxClockSkew)
			if err == nil {
				t.Fatal("Verify accepted the changed request")
			}
			if !errors.Is(err, iam.ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
		})
	}
	t.Run("other secret", func(t *testing.T) {
		r, body := base.build(t)
		if err := iam.Verify(r, body, authorization(t, r), strings.ToUpper(sigSK), sigNow, iam.DefaultMaxClockSkew); !errors.Is(err, iam.ErrUnauthenticated) {
			t.Fatalf("Verify with another secret = %v", err)
		}
	})
}

// TestSignerWithRealClient drives the generated HSS client end to end (its
// own header filling, query encoding and transport) against a server that
// only verifies signatures, including the IAM project lookup a client
// without a project id makes first.
func TestSignerWithRealClient(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("X-Request-Id", "req-1")
		a, err := iam.ParseAuthorization(r.Header.Get("Authorization"))
		if err == nil {
			err = iam.Verify(r, body, a, sigSK, time.Now(), iam.DefaultMaxClockSkew)
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error_code": "APIGW.0301", "error_msg": err.Error()})
			return
		}
		switch {
		case r.URL.Path == "/v3/projects":
			json.NewEncoder(w).Encode(map[string]any{"projects": []map[string]string{{"id": sigProject, "name": "local-1"}}})
		case strings.HasSuffix(r.URL.Path, "/image/swr-repository"):
			w.Write([]byte(`{"total_num":0,"data_list":[]}`))
		default:
			w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()

	newClient := func(t *testing.T, ak, projectID, sk string) *hss.HssClient {
		cb := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithIamEndpointOverride(srv.URL)
		if projectID != "" {
			cb = cb.WithProjectId(projectID)
		}
		cred, err := cb.SafeBuild()
		if err != nil {
			t.Fatal(err)
		}
		hc, err := hss.HssClientBuilder().
			WithRegion(region.NewRegion("local-1", srv.URL)).
			WithCredential(cred).
			WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("openhss-sdkcompat")).
			SafeBuild()
		if err != nil {
			t.Fatal(err)
		}
		return hss.NewHssClient(hc)
	}

	t.Run("list with every kind of query value", func(t *testing.T) {
		c := newClient(t, sigAK, sigProject, sigSK)
		_, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{
			Region:              sigStr("local-1"),
			EnterpriseProjectId: sigStr("all_granted_eps"),
			ImageType:           "private_image",
			Namespace:           sigStr(""),
			ImageName:           sigStr("a b+c/é&=?%#"),
			ImageVersion:        sigStr("1.0;2"),
			Offset:              func() *int32 { v := int32(0); return &v }(),
			Limit:               func() *int32 { v := int32(200); return &v }(),
		})
		if err != nil {
			t.Fatalf("ListSwrImageRepository: %v", err)
		}
	})
	t.Run("post with body", func(t *testing.T) {
		c := newClient(t, sigAK, sigProject, sigSK)
		_, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{
			Region: sigStr("local-1"),
			Body:   &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"},
		})
		if err != nil {
			t.Fatalf("RunImageSynchronize: %v", err)
		}
	})
	t.Run("project resolved through /v3/projects", func(t *testing.T) {
		mu.Lock()
		seen = nil
		mu.Unlock()
		// The SDK caches a resolved project per access key and region for
		// the life of the process: a fresh key makes -count=N runs ask again.
		ak := fmt.Sprintf("RESOLVE%013d", time.Now().UnixNano()%1e13)
		c := newClient(t, ak, "", sigSK)
		if _, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "local_image"}); err != nil {
			t.Fatalf("ListSwrImageRepository: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		want := []string{"GET /v3/projects", "GET /v5/" + sigProject + "/image/swr-repository"}
		if !reflect.DeepEqual(seen, want) {
			t.Fatalf("requests %v, want %v", seen, want)
		}
	})
	t.Run("wrong secret is rejected", func(t *testing.T) {
		c := newClient(t, sigAK, sigProject, strings.ToUpper(sigSK))
		_, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "private_image"})
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || se.ErrorCode != "APIGW.0301" {
			t.Fatalf("ListSwrImageRepository with a wrong secret = %v", err)
		}
	})
}
