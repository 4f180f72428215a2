package scanjob_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/store/postgres/pgtest"
	"github.com/openhss/openhss/internal/tasks"
)

// blobGate counts the registry's blob GETs once armed, and holds the
// first one (and every later one) until released.
type blobGate struct {
	armed    atomic.Bool
	held     chan struct{}
	heldOnce sync.Once
	release  chan struct{}
	mu       sync.Mutex
	gets     map[string]int // by blob digest
}

func newBlobGate() *blobGate {
	return &blobGate{held: make(chan struct{}), release: make(chan struct{}), gets: map[string]int{}}
}

func (g *blobGate) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.armed.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			g.mu.Lock()
			g.gets[path.Base(r.URL.Path)]++
			g.mu.Unlock()
			g.heldOnce.Do(func() { close(g.held) })
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (g *blobGate) counts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.gets))
	for k, v := range g.gets {
		out[k] = v
	}
	return out
}

// storePairs opens, for each engine, two stores on one database: two
// openhss processes sharing it (SQLite: one file; PostgreSQL: one schema
// of its own, dropped at the end). PostgreSQL's is nil when
// OPENHSS_TEST_POSTGRES names no server.
func storePairs(t *testing.T) map[string]func(t *testing.T) [2]store.Store {
	open := func(t *testing.T, u string) store.Store {
		st, err := store.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	out := map[string]func(t *testing.T) [2]store.Store{
		"sqlite": func(t *testing.T) [2]store.Store {
			u := "sqlite://" + filepath.Join(t.TempDir(), "openhss.db")
			a := open(t, u) // migrates first
			return [2]store.Store{a, open(t, u)}
		},
	}
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		out["postgres"] = nil
		return out
	}
	out["postgres"] = func(t *testing.T) [2]store.Store {
		schemaDSN := pgtest.Schema(t, dsn, "scanjob_")
		a := open(t, schemaDSN)
		return [2]store.Store{a, open(t, schemaDSN)}
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoTasksOneDigestPulledOnce: two scan tasks ask for one digest, the
// second made (through the other process) while the first one's scan is
// pulling it, held at the registry. Released, the registry has served
// each blob of the image once, and both tasks end with their item a
// success.
func TestTwoTasksOneDigestPulledOnce(t *testing.T) {
	for engine, open := range storePairs(t) {
		t.Run(engine, func(t *testing.T) {
			if open == nil {
				t.Skip("OPENHSS_TEST_POSTGRES unset: two processes on one PostgreSQL database not tested")
			}
			ctx := context.Background()
			gate := newBlobGate()
			reg := registrytest.New(t, registrytest.WithMiddleware(gate.middleware))
			img := image(t, imagetest.Layer(t, imagetest.Reg("etc/motd", "one\n")), imagetest.Layer(t, imagetest.Reg("etc/issue", "two\n")))
			push(t, reg, "team/app", "1", img)
			push(t, reg, "team/app", "2", img) // a second row of the digest
			pair := open(t)
			e := newTenants(t, pair[0], reg, false)
			// The second process: its own store handle, service and runner.
			svc2 := newService(t, scanjob.Options{Store: pair[1], Scanner: scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}),
				Matcher: newVulnDB(t, pair[1]), Box: e.box, Transport: registrytestTransport(t), Log: slog.New(slog.DiscardHandler)})
			page, err := pair[0].ListImages(ctx, inventory.Filter{ProjectID: "pa", Type: inventory.PrivateImage, Limit: 10})
			if err != nil || len(page.Images) != 2 {
				t.Fatalf("rows of pa: %+v, %v", page.Images, err)
			}
			rows := page.Images
			newTask := func(st store.Store, svc *scanjob.Service, rows ...inventory.Image) (tasks.Task, scanjob.Ticket) {
				t.Helper()
				tk, err := st.CreateTask(ctx, tasks.Task{ProjectID: "pa", Type: tasks.Scan, Kind: tasks.Manual, Name: "t",
					ImageType: "registry", ScanScope: int32(scanresult.ScopeAll), BeginTime: 1}, tasks.ScanItems(rows))
				if err != nil {
					t.Fatal(err)
				}
				tickets, err := svc.Request(ctx, "pa", rows)
				if err != nil || len(tickets) != 1 {
					t.Fatalf("Request = %+v, %v; want one scan", tickets, err)
				}
				return tk, tickets[0]
			}

			gate.armed.Store(true)
			first, _ := newTask(pair[0], e.svc, rows[0])
			rctx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for i, svc := range []*scanjob.Service{e.svc, svc2} {
				r := newRunner(t, pair[i], 0)
				r.Handle(scanjob.JobKind, svc.Handle)
				wg.Add(1)
				go func() { defer wg.Done(); r.Run(rctx) }()
			}
			t.Cleanup(func() { stop(); wg.Wait() })
			select {
			case <-gate.held:
			case <-time.After(time.Minute):
				t.Fatal("the first task's scan never asked for a blob")
			}
			second, ticket := newTask(pair[1], svc2, rows...)
			if !ticket.Joined {
				t.Fatalf("the second task's request queued job %d; want it joined to the running scan", ticket.Job.ID)
			}
			close(gate.release)
			for _, tk := range []tasks.Task{first, second} {
				waitFor(t, "task "+tk.ID, func() bool {
					got, err := pair[0].GetTask(ctx, "pa", tk.ID)
					return err == nil && got.Ended()
				})
				got, err := pair[0].GetTask(ctx, "pa", tk.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != tasks.Finished || got.SuccessNum != got.TotalNum || got.FailedNum != 0 {
					t.Errorf("task %s: %+v; want finished, every item a success", tk.ID, got)
				}
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{m.Config.Digest.String(): 1}
			for _, l := range m.Layers {
				want[l.Digest.String()] = 1
			}
			got := gate.counts()
			for d, n := range want {
				if got[d] != n {
					t.Errorf("blob %s fetched %d times; want once", d, got[d])
				}
			}
			if len(got) != len(want) {
				t.Errorf("blobs fetched: %v; want each of %v once", got, want)
			}
			for _, r := range rows {
				row, err := pair[1].GetImage(ctx, "pa", r.ID)
				if err != nil || row.ScanStatus != inventory.ScanSuccess {
					t.Errorf("row %d: %s, %v; want success", r.ID, row.ScanStatus, err)
				}
			}
		})
	}
}
