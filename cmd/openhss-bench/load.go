package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlstore"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
)

type httpResult struct {
	Path          string     `json:"path"` // the URL driven, without host
	Clients       int        `json:"clients"`
	ResponseBytes int        `json:"response_bytes"`
	HeaderBytes   int        `json:"header_bytes"` // response header fields, as captured
	OpenHSS       loadResult `json:"openhss"`
	Bare          loadResult `json:"bare"`
	Ratio         float64    `json:"ratio"` // openhss / bare requests per second
	Met           bool       `json:"met"`
}

type loadResult struct {
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	MedianMs float64 `json:"median_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

type httpSetup struct {
	store *sqlstore.Store
	iam   *iam.Service
	box   *secret.Box
}

// newHTTPSetup is the API's parts over st with a fresh random key, as a
// new server with an empty key file has: what a run seals lives only as
// long as the run.
func newHTTPSetup(st *sqlstore.Store) (httpSetup, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return httpSetup{}, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return httpSetup{}, err
	}
	svc, err := iam.New(iam.Options{Store: st, Box: box})
	if err != nil {
		return httpSetup{}, err
	}
	return httpSetup{store: st, iam: svc, box: box}, nil
}

// handler is the API over s, wired as `openhss serve` wires it (the
// benchmark's load reaches only the list).
func (s httpSetup) handler() (http.Handler, error) {
	p, err := s.build()
	return p.api, err
}

// serveParts are the services `openhss serve` builds over a store, as far
// as the API and the console need them.
type serveParts struct {
	api    http.Handler
	lister *registry.Lister
	syncer *registry.Syncer
	scans  scanjob.Requester
	// updater is the console's Update now (never pressed here).
	updater *vulnupdate.Updater
}

func (s httpSetup) build() (serveParts, error) {
	var p serveParts
	quiet := slog.New(slog.DiscardHandler)
	lister, err := registry.NewLister(registry.ListerOptions{Logger: quiet})
	if err != nil {
		return p, err
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: s.store, Queue: s.store, Box: s.box, Lister: lister, Logger: quiet})
	if err != nil {
		return p, err
	}
	vdb, err := vulndb.New(vulndb.Options{Store: s.store, Logger: quiet})
	if err != nil {
		return p, err
	}
	sc, err := scanner.New(scanner.Options{Logger: quiet})
	if err != nil {
		return p, err
	}
	scans, err := scanjob.New(scanjob.Options{Store: s.store, Scanner: sc, Matcher: vdb, Box: s.box, Log: quiet})
	if err != nil {
		return p, err
	}
	all, err := scanjob.NewScanAll(scanjob.ScanAllOptions{Service: scans, Lister: s.store})
	if err != nil {
		return p, err
	}
	p.lister, p.syncer, p.scans = lister, syncer, all.Requester()
	p.updater, err = vulnupdate.New(vulnupdate.Options{DB: vdb, Rematch: scans, Queue: s.store, Logger: quiet})
	if err != nil {
		return p, err
	}
	p.api, err = hssapi.New(hssapi.Config{Store: s.store, IAM: s.iam, Box: s.box, Sync: syncer,
		Scans: p.scans, ScanResults: s.store, Findings: s.store, RateLimit: -1})
	return p, err
}

const (
	benchUser     = "bench"
	benchPassword = "bench-password-0123"
)

// measureHTTP drives GET swr-repository?query against the real API, then the
// same load against a bare handler replaying one captured response, both on
// loopback listeners of this process.
func measureHTTP(ctx context.Context, s httpSetup, query url.Values, o listOptions) (httpResult, error) {
	res := httpResult{Clients: o.Clients}
	if _, err := s.iam.CreateUser(ctx, benchProject, benchUser, benchPassword, inventory.Grant{All: true}); err != nil {
		return res, err
	}
	h, err := s.handler()
	if err != nil {
		return res, err
	}
	api, err := serve(h)
	if err != nil {
		return res, err
	}
	defer api.Close()

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 2 * o.Clients, MaxIdleConnsPerHost: 2 * o.Clients, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()
	token, err := issueToken(ctx, client, api.URL)
	if err != nil {
		return res, err
	}
	header := http.Header{"X-Auth-Token": {token}}
	res.Path = "/v5/" + benchProject + "/image/swr-repository?" + query.Encode()

	// One real response, replayed byte for byte (Date aside, which net/http
	// writes itself) by the bare handler.
	captured, body, err := get(ctx, client, api.URL+res.Path, header)
	if err != nil {
		return res, err
	}
	res.ResponseBytes = len(body)
	replay := captured.Clone()
	replay.Del("Date")
	for k, vs := range replay {
		for _, v := range vs {
			res.HeaderBytes += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	bare, err := serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range replay {
			w.Header()[k] = vs
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	}))
	if err != nil {
		return res, err
	}
	defer bare.Close()

	for _, target := range []struct {
		url string
		out *loadResult
	}{{api.URL + res.Path, &res.OpenHSS}, {bare.URL + res.Path, &res.Bare}} {
		// Warm-up: open the connections, fill caches.
		if _, err := drive(ctx, client, target.url, header, len(body), o.Clients, o.Duration, int64(o.Clients)*10); err != nil {
			return res, err
		}
		stop, err := startProfile(o.CPUProfile, target.out == &res.OpenHSS)
		if err != nil {
			return res, err
		}
		*target.out, err = drive(ctx, client, target.url, header, len(body), o.Clients, o.Duration, int64(o.MaxRequests))
		stop()
		if err != nil {
			return res, err
		}
	}
	if res.Bare.RPS > 0 {
		res.Ratio = res.OpenHSS.RPS / res.Bare.RPS
	}
	res.Met = res.Ratio >= targetHTTPRatio
	return res, nil
}

type server struct {
	URL string
	srv *http.Server
}

// serve starts h on a fresh 127.0.0.1 port.
func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func issueToken(ctx context.Context, client *http.Client, base string) (string, error) {
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":"bench"}}}},"scope":{"project":{"id":%q}}}}`,
		benchUser, benchPassword, benchProject)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/auth/tokens", bytes.NewBufferString(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	token := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || token == "" {
		return "", fmt.Errorf("POST /v3/auth/tokens: %s: %s", resp.Status, msg)
	}
	return token, nil
}

func get(ctx context.Context, client *http.Client, url string, header http.Header) (http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header = header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return resp.Header, body, nil
}

// drive runs clients concurrent request loops against url until d has
// passed or maxRequests were sent, and fails on any answer other than 200
// with a body of wantBytes.
func drive(ctx context.Context, client *http.Client, url string, header http.Header, wantBytes, clients int, d time.Duration, maxRequests int64) (loadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second) // a stuck server cannot hold the run
	defer cancel()
	var (
		sent     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		all      []time.Duration
	)
	start := time.Now()
	deadline := start.Add(d)
	for range clients {
		wg.Go(func() {
			var times []time.Duration
			err := func() error {
				for time.Now().Before(deadline) && sent.Add(1) <= maxRequests {
					t0 := time.Now()
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
					if err != nil {
						return err
					}
					req.Header = header.Clone()
					resp, err := client.Do(req)
					if err != nil {
						return err
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil {
						return err
					}
					if resp.StatusCode != http.StatusOK || n != int64(wantBytes) {
						return fmt.Errorf("GET %s: %s with %d bytes, want 200 with %d", url, resp.Status, n, wantBytes)
					}
					times = append(times, time.Since(t0))
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			all = append(all, times...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if len(all) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	q := summarize(all)
	return loadResult{
		Requests: int64(len(all)), Seconds: elapsed.Seconds(), RPS: float64(len(all)) / elapsed.Seconds(),
		MedianMs: q.median, P99Ms: q.p99,
	}, nil
}

// startProfile writes a CPU profile of the process to path until stop is
// called, when on and path is set.
func startProfile(path string, on bool) (stop func(), err error) {
	if path == "" || !on {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
