package scanjob_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// interruptingStore is the real store whose re-match writes fail from the
// failAt-th call on (0: never), as when the process dies mid-re-match.
type interruptingStore struct {
	*sqlite.Store
	calls, failAt atomic.Int32
}

var errInterrupted = errors.New("interrupted")

func (s *interruptingStore) ReplaceFindings(ctx context.Context, updates []scanresult.FindingsUpdate) error {
	if n := s.calls.Add(1); s.failAt.Load() > 0 && n >= s.failAt.Load() {
		return errInterrupted
	}
	return s.Store.ReplaceFindings(ctx, updates)
}

// TestRematchInterruptedIsRedone: a re-match that dies after its first
// batch leaves every image consistent (vul_num equals its stored
// findings; the images not reached keep their old findings), leaves the
// re-match due, and the next one finishes the work, batch by batch, with
// what a fresh scan finds.
func TestRematchInterruptedIsRedone(t *testing.T) {
	reg := registrytest.New(t)
	const images = 4
	for i := range images {
		img, err := mutate.AppendLayers(vulnImage(t), imagetest.Layer(t, imagetest.Reg("etc/hostname", fmt.Sprintf("image-%d\n", i))))
		if err != nil {
			t.Fatal(err)
		}
		push(t, reg, "team/app", fmt.Sprint(i), img)
	}
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	rows := e.syncAll(t)
	var all []inventory.Image
	for i := range images {
		all = append(all, rows[fmt.Sprintf("team/app:%d", i)])
	}
	if _, err := e.svc.Request(ctx, project, all); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	if _, err := e.db.Import(ctx, goVulnDB(t)); err != nil {
		t.Fatal(err)
	}

	st := &interruptingStore{Store: e.store}
	st.failAt.Store(2)
	svc := newService(t, scanjob.Options{Store: st, Scanner: scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}), Matcher: e.db,
		Box: e.box, Transport: registrytestTransport(t), RematchBatch: 1, Log: slog.New(slog.DiscardHandler)})
	if _, err := svc.Rematch(ctx); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted re-match returned %v, want %v", err, errInterrupted)
	}
	matched := 0
	for ref, r := range e.rows(t) {
		ids := vulnIDs(t, e, r.ManifestDigest)
		if int(r.VulNum) != len(ids) || r.ScanStatus != inventory.ScanSuccess {
			t.Fatalf("%s after the interruption: %s, vul_num %d, findings %v", ref, r.ScanStatus, r.VulNum, ids)
		}
		if r.VulNum > 0 {
			matched++
		}
	}
	if matched != 1 {
		t.Fatalf("%d images re-matched before the interruption, want the first batch's 1", matched)
	}
	if due, err := svc.RematchIfStale(ctx); err != nil || !due {
		t.Fatalf("RematchIfStale after an interrupted re-match = %v, %v; want it due", due, err)
	}

	// The job that queued runs the re-match again, batch by batch.
	st.failAt.Store(0)
	calls := st.calls.Load()
	r := newRunner(t, e.store, 0)
	r.Handle(scanjob.RematchKind, svc.HandleRematch)
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := st.calls.Load() - calls; n != images {
		t.Fatalf("the queued re-match wrote %d batches, want %d of one image", n, images)
	}
	if due, err := svc.RematchIfStale(ctx); err != nil || due {
		t.Fatalf("RematchIfStale after the re-match = %v, %v; want nothing due", due, err)
	}

	rematched := map[string][]string{}
	for ref, r := range e.rows(t) {
		rematched[ref] = vulnIDs(t, e, r.ManifestDigest)
		if len(rematched[ref]) == 0 || int(r.VulNum) != len(rematched[ref]) {
			t.Fatalf("%s after the re-match: vul_num %d, findings %v", ref, r.VulNum, rematched[ref])
		}
	}
	if _, err := e.svc.Request(ctx, project, all); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	for ref, want := range rematched {
		r := e.rows(t)[ref]
		if got := vulnIDs(t, e, r.ManifestDigest); !slices.Equal(got, want) || int(r.VulNum) != len(want) {
			t.Fatalf("%s: a fresh scan finds %v (vul_num %d), the re-match stored %v", ref, got, r.VulNum, want)
		}
	}
}
