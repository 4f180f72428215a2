package scanjob_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store"
	"github.com/openhss/openhss/internal/store/postgres/pgtest"
)

// stores opens a new, empty store of each engine the test can reach:
// SQLite always, PostgreSQL when OPENHSS_TEST_POSTGRES names a server
// (in a schema of its own, dropped at the end).
func stores(t *testing.T) map[string]func(t *testing.T) store.Store {
	out := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "openhss.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Log("OPENHSS_TEST_POSTGRES unset: PostgreSQL not tested")
		return out
	}
	out["postgres"] = func(t *testing.T) store.Store {
		ctx := context.Background()
		schemaDSN := pgtest.Schema(t, dsn, "scanjob_")
		st, err := store.Open(ctx, schemaDSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return out
}

// tenants is one openhss with two projects whose connections reach the
// same registry.
type tenants struct {
	st     store.Store
	box    *secret.Box
	svc    *scanjob.Service
	syncer *registry.Syncer
	regs   map[string]inventory.Registry // by project
}

func newTenants(t *testing.T, st store.Store, reg *registrytest.Registry, vulnData bool) *tenants {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db := newVulnDB(t, st)
	if vulnData {
		if _, err := db.Import(ctx, goVulnDB(t)); err != nil {
			t.Fatal(err)
		}
	}
	user, pass := reg.Credentials()
	sealed, err := box.Seal(pass)
	if err != nil {
		t.Fatal(err)
	}
	e := &tenants{st: st, box: box, regs: map[string]inventory.Registry{}}
	for _, p := range []string{"pa", "pb"} {
		if _, err := st.EnsureProject(ctx, inventory.Project{ID: p, Name: p}); err != nil {
			t.Fatal(err)
		}
		r, err := st.CreateRegistry(ctx, inventory.Registry{
			ProjectID: p, EnterpriseProjectID: "0", Name: "local", Type: inventory.OtherRegistry, Protocol: "http",
			Addr: reg.Addr(), Username: user, PasswordSealed: sealed, Status: inventory.RegistryPending,
		})
		if err != nil {
			t.Fatal(err)
		}
		e.regs[p] = r
	}
	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()})
	rt := registrytestTransport(t)
	e.svc = newService(t, scanjob.Options{Store: st, Scanner: sc, Matcher: db, Box: box, Transport: rt, Log: slog.New(slog.DiscardHandler)})
	e.syncer = newSyncer(t, st, box, rt)
	for p, r := range e.regs {
		if res, err := e.syncer.SyncRegistry(ctx, r); err != nil || res.Err != nil {
			t.Fatalf("sync of %s: %v / %v", p, err, res.Err)
		}
	}
	return e
}

// row is the project's only row.
func (e *tenants) row(t *testing.T, project string) inventory.Image {
	t.Helper()
	page, err := e.st.ListImages(context.Background(), inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Images) != 1 {
		t.Fatalf("project %s has %d rows, want 1", project, len(page.Images))
	}
	return page.Images[0]
}

func (e *tenants) request(t *testing.T, project string) {
	t.Helper()
	if _, err := e.svc.Request(context.Background(), project, []inventory.Image{e.row(t, project)}); err != nil {
		t.Fatal(err)
	}
}

func (e *tenants) runAll(t *testing.T) {
	t.Helper()
	r := newRunner(t, e.st, 0)
	r.Handle(scanjob.JobKind, e.svc.Handle)
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// breakConnection gives project's connection a wrong password.
func (e *tenants) breakConnection(t *testing.T, project string) {
	t.Helper()
	r := e.regs[project]
	sealed, err := e.box.Seal("wrong")
	if err != nil {
		t.Fatal(err)
	}
	r.PasswordSealed = sealed
	if _, err := e.st.UpdateRegistry(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func sameResult(a, b inventory.Image) bool {
	return a.ScanStatus == b.ScanStatus && a.ScanFailedDesc == b.ScanFailedDesc && a.LatestScanTime == b.LatestScanTime &&
		a.VulNum == b.VulNum && a.UnsafeSettingNum == b.UnsafeSettingNum && a.MaliciousFileNum == b.MaliciousFileNum &&
		a.Scannable == b.Scannable
}

// TestOtherProjectCannotChangeScanResults: projects A and B hold the same
// digest through their own connections to one registry. A scans it; B's
// connection then has a wrong password and B scans: B's waiting state and
// B's failure show on B's row only, and A's row and findings stay as A's
// scan left them.
func TestOtherProjectCannotChangeScanResults(t *testing.T) {
	for engine, open := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"))
			push(t, reg, "team/app", "1", vulnImage(t))
			e := newTenants(t, open(t), reg, true)

			e.request(t, "pa")
			e.runAll(t)
			a := e.row(t, "pa")
			if a.ScanStatus != inventory.ScanSuccess || a.VulNum == 0 {
				t.Fatalf("A after its scan: %s %q vul_num %d", a.ScanStatus, a.ScanFailedDesc, a.VulNum)
			}
			total, _, err := e.st.ListVulns(ctx, scanresult.VulnFilter{Digest: a.ManifestDigest})
			if err != nil || total == 0 {
				t.Fatalf("A's findings: %d, %v", total, err)
			}

			e.breakConnection(t, "pb")
			e.request(t, "pb")
			if b := e.row(t, "pb"); b.ScanStatus != inventory.WaitingForScan {
				t.Fatalf("B after its request: %s, want waiting_for_scan", b.ScanStatus)
			}
			if got := e.row(t, "pa"); !sameResult(got, a) {
				t.Fatalf("B's request changed A's row: %+v\nwas %+v", got, a)
			}
			e.runAll(t)

			b := e.row(t, "pb")
			if b.ScanStatus != inventory.DownloadFailed || b.ScanFailedDesc != scanner.DescAuthenticationFailed {
				t.Fatalf("B after its scan: %s %q, want download_failed %q", b.ScanStatus, b.ScanFailedDesc, scanner.DescAuthenticationFailed)
			}
			if got := e.row(t, "pa"); !sameResult(got, a) {
				t.Fatalf("B's failed scan changed A's row: %s %q vul_num %d time %d\nwas %s vul_num %d time %d",
					got.ScanStatus, got.ScanFailedDesc, got.VulNum, got.LatestScanTime, a.ScanStatus, a.VulNum, a.LatestScanTime)
			}
			if after, _, err := e.st.ListVulns(ctx, scanresult.VulnFilter{Digest: a.ManifestDigest}); err != nil || after != total {
				t.Fatalf("A's findings after B's failed scan: %d (was %d), %v", after, total, err)
			}
			// The sweep finds nothing to fail: no project's row is left
			// waiting without its job.
			if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("sweep = %d, %v", n, err)
			}
		})
	}
}

// TestRequestersTriedThroughTheirOwnConnection: B asks first, through its
// broken connection, then A asks for the same digest while B's scan is
// still queued. A's request is tried through A's connection and succeeds;
// a success is shared by digest, so both rows end with A's result.
func TestRequestersTriedThroughTheirOwnConnection(t *testing.T) {
	for engine, open := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			reg := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"))
			push(t, reg, "team/app", "1", image(t, imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=test\n"))))
			e := newTenants(t, open(t), reg, false)
			e.breakConnection(t, "pb")
			e.request(t, "pb")
			e.request(t, "pa")
			e.runAll(t)
			if a := e.row(t, "pa"); a.ScanStatus != inventory.ScanSuccess {
				t.Fatalf("A: %s %q, want success through its own connection", a.ScanStatus, a.ScanFailedDesc)
			}
			if b := e.row(t, "pb"); b.ScanStatus != inventory.ScanSuccess {
				t.Fatalf("B: %s %q, want A's shared success", b.ScanStatus, b.ScanFailedDesc)
			}
		})
	}
}

// TestTwoProjectsAtOncePullOnce: A and B ask for the same digest at once,
// both through working connections; the image's layers are pulled once,
// and both rows show the result, which each project's scan history has.
func TestTwoProjectsAtOncePullOnce(t *testing.T) {
	for engine, open := range stores(t) {
		t.Run(engine, func(t *testing.T) {
			var blobs atomic.Int64
			reg := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"),
				registrytest.WithMiddleware(func(h http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
							blobs.Add(1)
						}
						h.ServeHTTP(w, r)
					})
				}))
			img := image(t, imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=test\n")))
			push(t, reg, "team/app", "1", img)
			e := newTenants(t, open(t), reg, false)
			before := blobs.Load() // the syncs read the config
			e.request(t, "pa")
			e.request(t, "pb")
			e.runAll(t)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			// The config and each layer, once.
			if n, want := blobs.Load()-before, int64(1+len(m.Layers)); n != want {
				t.Fatalf("the registry served %d blobs for two requests at once, want %d (one pull)", n, want)
			}
			// Each project's history has the one scan, the adopter's at the
			// shared result's scan time (its rows'), not the adoption's.
			for _, p := range []string{"pa", "pb"} {
				r := e.row(t, p)
				if r.ScanStatus != inventory.ScanSuccess {
					t.Fatalf("%s: %s %q", p, r.ScanStatus, r.ScanFailedDesc)
				}
				hist, err := e.st.ScanHistory(context.Background(), p, r.ManifestDigest)
				if err != nil || len(hist) != 1 || hist[0].Status != inventory.ScanSuccess || hist[0].ScanTime != r.LatestScanTime {
					t.Fatalf("%s: scan history %+v, %v; want one success at %d", p, hist, err, r.LatestScanTime)
				}
			}
		})
	}
}
