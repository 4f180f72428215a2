package registry_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
)

const project = "p1"

type syncEnv struct {
	store  *sqlite.Store
	syncer *registry.Syncer
	box    *secret.Box
	clock  *clock
	stats  *metrics
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type metrics struct {
	mu    sync.Mutex
	calls []error
}

func (m *metrics) SyncDone(id int64, res inventory.SyncResult, err error, d time.Duration) {
	m.mu.Lock()
	m.calls = append(m.calls, err)
	m.mu.Unlock()
}

func newSyncEnv(t testing.TB) *syncEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: project, Name: "project one"}); err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.UnixMilli(1_700_000_000_000)}
	m := &metrics{}
	s := newSyncer(t, registry.SyncerOptions{Store: st, Queue: st, Box: box,
		Lister: fastLister(t, registry.ListerOptions{Now: c.Now}), Metrics: m, Now: c.Now})
	return &syncEnv{store: st, syncer: s, box: box, clock: c, stats: m}
}

func (e *syncEnv) addRegistry(t testing.TB, addr, user, password string) inventory.Registry {
	t.Helper()
	sealed, err := e.box.Seal(password)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := e.store.CreateRegistry(context.Background(), inventory.Registry{
		ProjectID: project, Name: addr, Type: inventory.OtherRegistry, Protocol: "http", Addr: addr,
		Username: user, PasswordSealed: sealed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// rows returns every private_image row of the project by "ns/name:tag".
func (e *syncEnv) rows(t *testing.T) map[string]inventory.Image {
	t.Helper()
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]inventory.Image{}
	for _, img := range page.Images {
		out[img.Namespace+"/"+img.Name+":"+img.Tag] = img
	}
	if int(page.Total) != len(out) {
		t.Fatalf("total %d, %d rows", page.Total, len(out))
	}
	return out
}

func (e *syncEnv) sync(t *testing.T) []registry.Result {
	t.Helper()
	res, err := e.syncer.Sync(context.Background(), project, inventory.PrivateImage)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSyncLifecycle(t *testing.T) {
	env := newSyncEnv(t)
	r := registrytest.New(t, registrytest.WithDelete(), registrytest.WithBasicAuth("robot", "pw"))
	opts := func(created string, file string) registrytest.ImageOptions {
		return registrytest.ImageOptions{Created: day(created), Layers: []map[string]string{{"f": file}}}
	}
	v1img := r.PushImage(t, "team/app", "v1", opts("2024-01-01", "1"))
	r.PushImage(t, "team/app", "v2", opts("2024-02-01", "2"))
	r.PushImage(t, "team/app", "gone", opts("2024-03-01", "3"))
	r.PushImage(t, "other/tool", "1.0", opts("2024-01-15", "t"))
	r.PushHelmChart(t, "charts/c", "0.1.0")
	idx := r.PushIndex(t, "team/multi", "latest", day("2024-04-01"), amd64, arm64)
	reg := env.addRegistry(t, r.Addr(), "robot", "pw")

	res := env.sync(t)
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("results = %+v", res)
	}
	if got, want := res[0].Changes, (inventory.SyncResult{Added: 6}); got != want {
		t.Fatalf("first sync = %+v, want %+v", got, want)
	}
	rows := env.rows(t)
	if len(rows) != 6 {
		t.Fatalf("rows = %v", rows)
	}
	app1 := rows["team/app:v1"]
	if app1.Digest != mustDigest(t, v1img).String() || app1.Size != registrytest.ManifestSize(t, v1img) ||
		app1.LatestUpdateTime != day("2024-01-01").UnixMilli() || !app1.Scannable || app1.RegistryID != reg.ID {
		t.Errorf("team/app:v1 = %+v", app1)
	}
	if !rows["team/app:gone"].LatestVersion || rows["team/app:v1"].LatestVersion {
		t.Errorf("latest_version: the newest created tag must be the latest")
	}
	if rows["charts/c:0.1.0"].Scannable {
		t.Errorf("helm chart is scannable")
	}
	multi := rows["team/multi:latest"]
	if multi.Digest != digestOf(t, idx) || len(multi.Associations) != 2 {
		t.Errorf("team/multi:latest = %+v", multi)
	}
	got, err := env.store.GetRegistry(context.Background(), project, reg.ID)
	if err != nil || got.Status != inventory.RegistryOK || got.FailReason != "" || got.LatestSyncTime != env.clock.Now().UnixMilli() {
		t.Fatalf("registry after sync = %+v, %v", got, err)
	}

	// A scan result on v2's manifest, to see it reset when v2 moves.
	v2 := rows["team/app:v2"]
	if err := env.store.SetScanResult(context.Background(), v2.ManifestDigest, inventory.ScanResult{
		Status: inventory.ScanSuccess, ScanTime: 1, VulNum: 3,
	}); err != nil {
		t.Fatal(err)
	}

	// Push a new tag, move v2 onto it, delete "gone".
	moved := r.PushImage(t, "team/app", "next", opts("2024-06-02", "7"))
	r.MoveTag(t, "team/app", "v2", "next")
	r.DeleteTag(t, "team/app", "gone")
	env.clock.advance(time.Hour)

	res = env.sync(t)
	if got, want := res[0].Changes, (inventory.SyncResult{Added: 1, Moved: 1, Removed: 1, Unchanged: 4}); got != want {
		t.Fatalf("second sync = %+v, want %+v", got, want)
	}
	rows = env.rows(t)
	if _, ok := rows["team/app:gone"]; ok {
		t.Error("deleted tag still listed")
	}
	nv2 := rows["team/app:v2"]
	if nv2.ID != v2.ID || nv2.Digest != mustDigest(t, moved).String() || nv2.ScanStatus != inventory.Unscan || nv2.VulNum != 0 ||
		nv2.LatestUpdateTime != day("2024-06-02").UnixMilli() {
		t.Errorf("moved v2 = %+v (was id %d)", nv2, v2.ID)
	}
	if rows["team/app:next"].Digest != nv2.Digest || rows["team/app:v1"].ID != app1.ID {
		t.Errorf("rows = %+v", rows)
	}

	// The registry goes away: rows stay, the connection records why.
	before := env.rows(t)
	r.Close()
	res = env.sync(t)
	if !errors.Is(res[0].Err, registry.ErrUnreachable) {
		t.Fatalf("sync of a closed registry: %v", res[0].Err)
	}
	if after := env.rows(t); len(after) != len(before) {
		t.Errorf("rows changed: %d → %d", len(before), len(after))
	}
	got, err = env.store.GetRegistry(context.Background(), project, reg.ID)
	if err != nil || got.Status != inventory.RegistryFailed || !strings.Contains(got.FailReason, "connection failed") {
		t.Fatalf("registry after failed sync = %+v, %v", got, err)
	}
	if len(env.stats.calls) != 3 || env.stats.calls[0] != nil || env.stats.calls[2] == nil {
		t.Errorf("metrics calls = %v", env.stats.calls)
	}
}

func TestSyncWrongPassword(t *testing.T) {
	env := newSyncEnv(t)
	r := registrytest.New(t, registrytest.WithBasicAuth("robot", "pw"))
	r.PushImage(t, "a/b", "v1", registrytest.ImageOptions{})
	reg := env.addRegistry(t, r.Addr(), "robot", "not-pw")
	res := env.sync(t)
	if len(res) != 1 || !errors.Is(res[0].Err, registry.ErrAuth) {
		t.Fatalf("results = %+v", res)
	}
	got, _ := env.store.GetRegistry(context.Background(), project, reg.ID)
	if got.Status != inventory.RegistryFailed || !strings.Contains(got.FailReason, "authentication failed") {
		t.Fatalf("registry = %+v", got)
	}
}

// Two registries in one project: one failing does not stop the other.
func TestSyncSeveralRegistries(t *testing.T) {
	env := newSyncEnv(t)
	good := registrytest.New(t)
	good.PushImage(t, "ns/img", "v1", registrytest.ImageOptions{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	env.addRegistry(t, down, "", "")
	env.addRegistry(t, good.Addr(), "", "")
	res := env.sync(t)
	if len(res) != 2 {
		t.Fatalf("results = %+v", res)
	}
	var ok, failed int
	for _, r := range res {
		if r.Err == nil && r.Changes.Added == 1 {
			ok++
		} else if errors.Is(r.Err, registry.ErrUnreachable) {
			failed++
		}
	}
	if ok != 1 || failed != 1 {
		t.Fatalf("results = %+v", res)
	}
}

func TestRequestAndHandle(t *testing.T) {
	env := newSyncEnv(t)
	r := registrytest.New(t)
	r.PushImage(t, "ns/img", "v1", registrytest.ImageOptions{})
	env.addRegistry(t, r.Addr(), "", "")
	ctx := context.Background()

	j1, joined, err := env.syncer.Request(ctx, project, inventory.PrivateImage)
	if err != nil || joined {
		t.Fatalf("first request: %+v joined=%v err=%v", j1, joined, err)
	}
	j2, joined, err := env.syncer.Request(ctx, project, inventory.PrivateImage)
	if err != nil || !joined || j2.ID != j1.ID {
		t.Fatalf("second request: %+v joined=%v err=%v (first %d)", j2, joined, err, j1.ID)
	}
	if j3, joined, err := env.syncer.Request(ctx, project, inventory.SharedImage); err != nil || joined || j3.ID == j1.ID {
		t.Fatalf("other image type: %+v joined=%v err=%v", j3, joined, err)
	}
	if _, _, err := env.syncer.Request(ctx, project, inventory.LocalImage); err == nil {
		t.Fatal("local images cannot be synced")
	}
	claimed, err := env.store.Claim(ctx, []string{registry.JobKind}, "w1", time.Now(), time.Minute)
	if err != nil || claimed.ID != j1.ID {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := env.syncer.Handle(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	if rows := env.rows(t); len(rows) != 1 {
		t.Fatalf("rows after the job = %v", rows)
	}
	if err := env.syncer.Handle(ctx, registryJob("scan", nil)); err == nil {
		t.Fatal("a scan job was handled")
	}
	if err := env.syncer.Handle(ctx, registryJob(registry.JobKind, []byte("{"))); err == nil {
		t.Fatal("a bad payload was handled")
	}
}

func registryJob(kind string, payload []byte) jobs.Job {
	return jobs.Job{ID: 99, Kind: kind, Payload: payload}
}

// NewSyncer refuses a Syncer without one of its dependencies, and
// NewLister a negative limit: the mistake shows at start, not as a nil
// dereference in the first sync job.
func TestNewRefusesMissingDependencies(t *testing.T) {
	env := newSyncEnv(t)
	l := fastLister(t, registry.ListerOptions{})
	full := registry.SyncerOptions{Store: env.store, Queue: env.store, Box: env.box, Lister: l}
	for _, tc := range []struct {
		name string
		edit func(o *registry.SyncerOptions)
		ok   bool
	}{
		{"no store", func(o *registry.SyncerOptions) { o.Store = nil }, false},
		{"no queue", func(o *registry.SyncerOptions) { o.Queue = nil }, false},
		{"no box", func(o *registry.SyncerOptions) { o.Box = nil }, false},
		{"no lister", func(o *registry.SyncerOptions) { o.Lister = nil }, false},
		{"all", func(*registry.SyncerOptions) {}, true},
	} {
		o := full
		tc.edit(&o)
		s, err := registry.NewSyncer(o)
		if tc.ok != (err == nil) || tc.ok != (s != nil) {
			t.Errorf("NewSyncer, %s: %v, %v; want ok=%v", tc.name, s, err, tc.ok)
		}
	}
	for _, o := range []registry.ListerOptions{{MaxRepositories: -1}, {MaxResponseBytes: -1}, {PageSize: -1}, {RequestTimeout: -time.Second}} {
		if l, err := registry.NewLister(o); err == nil {
			t.Errorf("NewLister(%+v) = %v, want an error", o, l)
		}
	}
}
