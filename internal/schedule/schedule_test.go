package schedule_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/policy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/schedule"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/store/postgres/pgtest"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/vulndb"
)

// engines returns, per engine the test can reach, a function giving the URL
// of a new empty database: SQLite always, PostgreSQL (a schema of its own,
// dropped at the end) when OPENHSS_TEST_POSTGRES names a server. Two
// stores opened on one URL are two servers sharing a database.
func engines(t testing.TB) map[string]func(t testing.TB) string {
	out := map[string]func(t testing.TB) string{
		"sqlite": func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "openhss.db") },
	}
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Log("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): the PostgreSQL variant is skipped")
		return out
	}
	out["postgres"] = func(t testing.TB) string {
		return pgtest.Schema(t, dsn, "schedule_")
	}
	return out
}

// clock is the schedulers' injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server is one openhss serve process: its own store handle, services and
// scheduler, over a database other servers may share.
type server struct {
	st     store.Store
	sched  *schedule.Scheduler
	runner *jobs.Runner
}

// env is a registry with two images (one pushed as created now, one 30
// days ago) and the database URL the servers share.
type env struct {
	url   string
	reg   *registrytest.Registry
	box   *secret.Box
	clock *clock
	rt    *registry.Transport
}

func newEnv(t testing.TB, dbURL string) *env {
	t.Helper()
	reg := registrytest.New(t)
	now := time.Now().Truncate(time.Second)
	reg.PushImage(t, "team/fresh", "v1", registrytest.ImageOptions{Created: now.Add(-time.Hour),
		Layers: []map[string]string{{"etc/fresh": "fresh\n"}}})
	reg.PushImage(t, "team/old", "v1", registrytest.ImageOptions{Created: now.Add(-30 * 24 * time.Hour),
		Layers: []map[string]string{{"etc/old": "old\n"}}})
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: dbURL, reg: reg, box: box, clock: &clock{t: now}, rt: registry.NewTransport(p)}
}

// server opens a server on the shared database with the given sync
// interval.
func (e *env) server(t testing.TB, syncInterval time.Duration) *server {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	quiet := slog.New(slog.DiscardHandler)
	l, err := registry.NewLister(registry.ListerOptions{Transport: e.rt, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: st, Queue: st, Box: e.box, Lister: l, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := scanjob.New(scanjob.Options{Store: st, Scanner: scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}),
		Matcher: db, Box: e.box, Transport: e.rt, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	all, err := scanjob.NewScanAll(scanjob.ScanAllOptions{Service: svc, Lister: st})
	if err != nil {
		t.Fatal(err)
	}
	starter, err := taskrun.New(taskrun.Options{Tasks: st, Sync: syncer, Scans: all.Requester()})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := schedule.New(schedule.Options{Store: st, Tasks: starter,
		SyncInterval: syncInterval, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: quiet, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(registry.JobKind, syncer.Handle)
	r.Handle(scanjob.JobKind, svc.Handle)
	r.Handle(scanjob.ScanAllKind, all.Handle)
	r.Handle(schedule.ScanKind, sched.HandleScan)
	r.Handle(schedule.SyncKind, sched.HandleSync)
	return &server{st: st, sched: sched, runner: r}
}

// connect adds a connection of project to the registry and syncs it.
func (e *env) connect(t *testing.T, s *server, project string) inventory.Registry {
	t.Helper()
	ctx := context.Background()
	if _, err := s.st.EnsureProject(ctx, inventory.Project{ID: project, Name: project}); err != nil {
		t.Fatal(err)
	}
	r, err := s.st.CreateRegistry(ctx, inventory.Registry{ProjectID: project, EnterpriseProjectID: "0", Name: "local-" + project,
		Type: inventory.OtherRegistry, Protocol: "http", Addr: e.reg.Addr(), Status: inventory.RegistryPending})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tickAll ticks every server at once, rounds times, and returns the runs
// claimed in all.
func tickAll(t *testing.T, rounds int, servers ...*server) int {
	t.Helper()
	var (
		mu      sync.Mutex
		claimed int
		wg      sync.WaitGroup
	)
	for range rounds {
		for _, s := range servers {
			wg.Go(func() {
				n, err := s.sched.Tick(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				claimed += n
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	return claimed
}

func (s *server) runUntilIdle(t *testing.T) {
	t.Helper()
	if err := s.runner.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func listTasks(t *testing.T, s *server, project string, typ tasks.Type, kind tasks.Kind) []tasks.Task {
	t.Helper()
	list, _, err := s.st.ListTasks(context.Background(), tasks.Filter{ProjectID: project, Type: typ, Kind: kind, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// setup is one shared database with a project "p1" whose connection was
// synced once (two rows), and two servers on it.
func setup(t *testing.T, dbURL string, syncInterval time.Duration) (*env, *server, *server, inventory.Registry) {
	t.Helper()
	e := newEnv(t, dbURL)
	a, b := e.server(t, syncInterval), e.server(t, syncInterval)
	reg := e.connect(t, a, "p1")
	syncNow(t, e, a, "p1")
	return e, a, b, reg
}

// syncNow syncs every connection of project through a sync job.
func syncNow(t *testing.T, e *env, s *server, project string) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	l, err := registry.NewLister(registry.ListerOptions{Transport: e.rt, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: s.st, Queue: s.st, Box: e.box, Lister: l, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := syncer.Request(context.Background(), project, inventory.PrivateImage); err != nil {
		t.Fatal(err)
	}
	s.runUntilIdle(t)
}

func enable(t *testing.T, s *server, p policy.Policy, now time.Time) {
	t.Helper()
	if err := s.st.SetScanPolicy(context.Background(), p, inventory.Millis(now)); err != nil {
		t.Fatal(err)
	}
}

// Two servers on one database tick together, many times: each due
// scheduled scan is claimed once, its cycle task runs once over the
// selected connection's images, and the next one is claimed once a cycle
// after the first run started, not before.
func TestScheduledScanOnceAcrossServers(t *testing.T) {
	for engine, newDB := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e, a, b, reg := setup(t, newDB(t), 0)
			enable(t, a, policy.Policy{ProjectID: "p1", Enabled: true, ScanCycle: 3, ScanScope: policy.ScanScopeAll,
				RegistryIDs: []int64{reg.ID}}, e.clock.Now())
			if n := tickAll(t, 5, a, b); n != 1 {
				t.Fatalf("first due run claimed %d times, want 1", n)
			}
			a.runUntilIdle(t)
			b.runUntilIdle(t)
			got := listTasks(t, a, "p1", tasks.Scan, tasks.Cycle)
			if len(got) != 1 {
				t.Fatalf("%d cycle tasks, want 1: %+v", len(got), got)
			}
			if got[0].State != tasks.Finished || got[0].TotalNum != 2 || got[0].SuccessNum != 2 || !got[0].IsAll {
				t.Errorf("cycle task %+v: want finished, 2 images scanned, is_all", got[0])
			}
			e.clock.Add(3*24*time.Hour - time.Minute)
			if n := tickAll(t, 3, a, b); n != 0 {
				t.Fatalf("%d runs claimed before the cycle ended", n)
			}
			e.clock.Add(time.Minute)
			if n := tickAll(t, 3, a, b); n != 1 {
				t.Fatalf("second run claimed %d times, want 1", n)
			}
			a.runUntilIdle(t)
			if got := listTasks(t, a, "p1", tasks.Scan, tasks.Cycle); len(got) != 2 {
				t.Fatalf("%d cycle tasks after the second cycle, want 2", len(got))
			}
			if got := listTasks(t, a, "p1", tasks.Scan, tasks.Manual); len(got) != 0 {
				t.Errorf("the scheduler made %d manual tasks", len(got))
			}
		})
	}
}

// time_scope keeps only the images updated within its days of the run's
// start; a policy selecting no connection scans nothing; a disabled
// policy is never due.
func TestScheduledScanSelection(t *testing.T) {
	for engine, newDB := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e, a, _, reg := setup(t, newDB(t), 0)
			enable(t, a, policy.Policy{ProjectID: "p1", Enabled: true, ScanCycle: 7, ScanScope: 1, RateLimit: 10,
				TimeScope: 7, RegistryIDs: []int64{reg.ID}}, e.clock.Now())
			if n := tickAll(t, 1, a); n != 1 {
				t.Fatalf("claimed %d, want 1", n)
			}
			a.runUntilIdle(t)
			got := listTasks(t, a, "p1", tasks.Scan, tasks.Cycle)
			if len(got) != 1 || got[0].TotalNum != 1 || got[0].ScanScope != 1 || got[0].RateLimit != 10 {
				t.Fatalf("cycle tasks %+v: want one over the fresh image only, scan_scope 1, rate_limit 10", got)
			}
			items, _, err := a.st.ListTaskItems(context.Background(), tasks.ItemFilter{ProjectID: "p1", TaskID: got[0].ID, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].ImageName != "fresh" {
				t.Errorf("items %+v: want the fresh image", items)
			}

			// No connection selected: the run covers nothing.
			e.clock.Add(time.Minute)
			enable(t, a, policy.Policy{ProjectID: "p1", Enabled: true, ScanCycle: 3, ScanScope: policy.ScanScopeAll,
				RegistryIDs: []int64{}}, e.clock.Now())
			if n := tickAll(t, 1, a); n != 1 {
				t.Fatalf("changed cycle: claimed %d, want 1 at once", n)
			}
			a.runUntilIdle(t)
			got = listTasks(t, a, "p1", tasks.Scan, tasks.Cycle)
			if len(got) != 2 || got[0].TotalNum != 0 || got[0].State != tasks.Finished {
				t.Fatalf("cycle tasks %+v: want a second, empty and finished", got)
			}

			// Disabled: never due, however long.
			enable(t, a, policy.Policy{ProjectID: "p1", ScanCycle: 3, ScanScope: policy.ScanScopeAll, RegistryIDs: []int64{reg.ID}}, e.clock.Now())
			e.clock.Add(60 * 24 * time.Hour)
			if n := tickAll(t, 2, a); n != 0 {
				t.Fatalf("a disabled policy ran %d times", n)
			}
		})
	}
}

// Every server down for 30 days while a weekly scan was due four times: at
// the restart one catch-up run starts, not four, and the next is due a
// cycle after it.
func TestCatchUpAfterDowntime(t *testing.T) {
	for engine, newDB := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e, a, _, reg := setup(t, newDB(t), 0)
			enable(t, a, policy.Policy{ProjectID: "p1", Enabled: true, ScanCycle: 7, ScanScope: policy.ScanScopeAll,
				RegistryIDs: []int64{reg.ID}}, e.clock.Now())
			if n := tickAll(t, 1, a); n != 1 {
				t.Fatalf("claimed %d, want 1", n)
			}
			a.runUntilIdle(t)
			a.st.Close()

			e.clock.Add(30 * 24 * time.Hour)
			restarted, other := e.server(t, 0), e.server(t, 0)
			if n := tickAll(t, 5, restarted, other); n != 1 {
				t.Fatalf("after 30 days down: %d runs claimed, want 1 catch-up", n)
			}
			restarted.runUntilIdle(t)
			if got := listTasks(t, restarted, "p1", tasks.Scan, tasks.Cycle); len(got) != 2 {
				t.Fatalf("%d cycle tasks, want 2 (the first and one catch-up)", len(got))
			}
			p, _, err := restarted.st.ScanPolicy(context.Background(), "p1")
			if err != nil {
				t.Fatal(err)
			}
			if want := inventory.Millis(e.clock.Now().Add(7 * 24 * time.Hour)); p.NextRunAt != want {
				t.Errorf("next run at %d, want %d (a cycle after the catch-up started)", p.NextRunAt, want)
			}
			e.clock.Add(7*24*time.Hour - time.Second)
			if n := tickAll(t, 2, restarted, other); n != 0 {
				t.Errorf("%d runs claimed within the cycle after the catch-up", n)
			}
		})
	}
}

// A server dies after claiming a run (the claim and its job are one
// transaction) and while the job runs: the job is claimed again after its
// lease and run again, and still one cycle task exists, which finishes.
func TestCrashAfterClaimMakesOneTask(t *testing.T) {
	for engine, newDB := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e, a, _, reg := setup(t, newDB(t), 0)
			enable(t, a, policy.Policy{ProjectID: "p1", Enabled: true, ScanCycle: 7, ScanScope: policy.ScanScopeAll,
				RegistryIDs: []int64{reg.ID}}, e.clock.Now())
			if n := tickAll(t, 1, a); n != 1 {
				t.Fatalf("claimed %d, want 1", n)
			}
			ctx := context.Background()
			// The dying server takes the job under a short lease, starts
			// the task, and is gone without finishing the job.
			j, err := a.st.Claim(ctx, []string{schedule.ScanKind}, "dying", time.Now(), 50*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.sched.HandleScan(ctx, j); err != nil {
				t.Fatal(err)
			}
			a.st.Close()
			time.Sleep(100 * time.Millisecond) // the dead lease expires

			restarted := e.server(t, 0)
			if n := tickAll(t, 2, restarted); n != 0 {
				t.Fatalf("the restart claimed %d runs; the run was claimed already", n)
			}
			restarted.runUntilIdle(t)
			got := listTasks(t, restarted, "p1", tasks.Scan, tasks.Cycle)
			if len(got) != 1 {
				t.Fatalf("%d cycle tasks after the crash, want 1: %+v", len(got), got)
			}
			if got[0].State != tasks.Finished || got[0].TotalNum != 2 {
				t.Errorf("cycle task %+v: want finished over 2 images", got[0])
			}
			done, err := restarted.st.GetJob(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if done.State != jobs.Done || done.Attempts != 2 {
				t.Errorf("cycle-scan job %+v: want done on its second attempt", done)
			}
		})
	}
}

// Two servers with --sync-interval 1h on one database: every project with
// connections is synced as one autoSync task per interval (the first an
// interval after it is first seen), covering each of its connections once;
// a restart does not sync again before the interval.
func TestPeriodicSyncOnceAcrossServers(t *testing.T) {
	for engine, newDB := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, newDB(t))
			a, b := e.server(t, time.Hour), e.server(t, time.Hour)
			e.connect(t, a, "p1")
			e.connect(t, a, "p2")
			// Seen for the first time: the first sync is an interval away.
			if n := tickAll(t, 3, a, b); n != 0 {
				t.Fatalf("%d syncs claimed at once; the first is an interval away", n)
			}
			e.clock.Add(time.Hour)
			if n := tickAll(t, 5, a, b); n != 2 {
				t.Fatalf("first periodic syncs claimed %d times, want 2 (one per project)", n)
			}
			a.runUntilIdle(t)
			b.runUntilIdle(t)
			for _, p := range []string{"p1", "p2"} {
				got := listTasks(t, a, p, tasks.Sync, tasks.AutoSync)
				if len(got) != 1 || got[0].TotalNum != 1 || got[0].SuccessNum != 1 || got[0].State != tasks.Finished {
					t.Fatalf("project %s autoSync tasks %+v: want one, its connection synced", p, got)
				}
			}
			e.clock.Add(59 * time.Minute)
			c := e.server(t, time.Hour) // a restart
			if n := tickAll(t, 3, a, b, c); n != 0 {
				t.Fatalf("%d syncs claimed within the interval", n)
			}
			e.clock.Add(time.Minute)
			if n := tickAll(t, 3, a, b, c); n != 2 {
				t.Fatalf("second periodic syncs claimed %d times, want 2", n)
			}
			c.runUntilIdle(t)
			if got := listTasks(t, a, "p1", tasks.Sync, tasks.AutoSync); len(got) != 2 {
				t.Errorf("%d autoSync tasks of p1, want 2", len(got))
			}
			if got := listTasks(t, a, "p1", tasks.Sync, tasks.ManualSync); len(got) != 0 {
				t.Errorf("%d manualSync tasks, want none", len(got))
			}
		})
	}
}
