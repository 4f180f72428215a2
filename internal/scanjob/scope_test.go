package scanjob_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/tasks"
)

// riskyImage has something for every part of a scan: a vulnerable Go
// binary, a weak root password, EICAR and an AWS key.
func riskyImage(t *testing.T) v1.Image {
	shadow := "root:" + scannertest.SHA512Crypt(t, weakPassword) + ":19700:0:90:7:::\napp:!:19700:0:90:7:::\n"
	return configured(t, image(t,
		imagetest.Layer(t, imagetest.Reg("etc/os-release", osRelease), imagetest.Reg("etc/passwd", passwd),
			imagetest.File{Name: "etc/shadow", Mode: 0o640, Body: shadow}),
		imagetest.Layer(t, imagetest.Exe("usr/local/bin/vulnapp", string(vulnBinary(t)))),
		imagetest.Layer(t, imagetest.Reg("opt/eicar.com", malware.EICAR),
			imagetest.Reg("srv/app/config.env", "AWS_ACCESS_KEY_ID="+awsKeyID+"\nAWS_SECRET_ACCESS_KEY="+awsSecret+"\n")),
	))
}

// scopeEnv is an env whose scanner runs the three analyzers, with a clock
// that moves a second per reading (so that each scan's time differs).
func scopeEnv(t *testing.T, reg *registrytest.Registry) *env {
	t.Helper()
	e := newEnv(t, reg, envConfig{})
	b, err := baseline.New(baseline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := malware.New(malware.Options{Signatures: e.store})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	e.svc = newService(t, scanjob.Options{Store: e.store, Matcher: e.db, Box: e.box, Transport: registrytestTransport(t),
		Scanner: &analyzingScanner{dir: t.TempDir(), baseline: b, secrets: sec, malware: m},
		Now:     func() time.Time { return time.UnixMilli(clock.Add(1000)) },
		Log:     slog.New(slog.DiscardHandler)})
	return e
}

// scanTask creates a scan task of scope over rows and requests their
// scans, as CreateManualImageScanTask does.
func scanTask(t *testing.T, e *env, scope scanresult.Scope, rows ...inventory.Image) tasks.Task {
	t.Helper()
	ctx := context.Background()
	tk, err := e.store.CreateTask(ctx, tasks.Task{ProjectID: project, Type: tasks.Scan, Kind: tasks.Manual, Name: "scope",
		ImageType: "registry", ScanScope: int32(scope), BeginTime: 1}, tasks.ScanItems(rows))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Request(ctx, project, rows); err != nil {
		t.Fatal(err)
	}
	return tk
}

// scanState is what a scan leaves for a row: the row's counts and the
// stored results of its manifest.
type scanState struct {
	row      inventory.Image
	sbom     scanresult.SBOM // Digest "" when none is stored
	analysis scanresult.Analysis
	vulns    []string
}

func stateOf(t *testing.T, e *env, ref string) scanState {
	t.Helper()
	ctx := context.Background()
	row := e.rows(t)[ref]
	s := scanState{row: row, vulns: vulnIDs(t, e, row.ManifestDigest)}
	var err error
	if s.sbom, err = e.store.GetSBOM(ctx, row.ManifestDigest); errors.Is(err, inventory.ErrNotFound) {
		s.sbom = scanresult.SBOM{}
	} else if err != nil {
		t.Fatal(err)
	}
	if s.analysis, err = e.store.GetAnalysis(ctx, row.ManifestDigest); err != nil {
		t.Fatal(err)
	}
	return s
}

// summary counts what an analysis holds.
func summary(a scanresult.Analysis) string {
	return fmt.Sprintf("%d baseline results, %d weak passwords, %d malware, %d secrets, %d file hashes",
		len(a.Baseline), len(a.WeakPasswords), len(a.Malware), len(a.Secrets), len(a.FileHashes))
}

func taskDone(t *testing.T, e *env, tk tasks.Task) {
	t.Helper()
	got, err := e.store.GetTask(context.Background(), project, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Finished || got.SuccessNum != got.TotalNum || got.TotalNum == 0 {
		t.Fatalf("task of scope %#x: %+v; want finished, every item a success", tk.ScanScope, got)
	}
}

// TestScanScopeKeepsOtherParts: a scan runs only the parts its task's
// scan_scope selects, and leaves the counts and stored findings of the
// others exactly as the last scan left them (none and 0 before any).
func TestScanScopeKeepsOtherParts(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/risky", "1", riskyImage(t))
	e := scopeEnv(t, reg)
	const ref = "team/risky:1"
	row := e.syncAll(t)[ref]

	// 1. Vulnerabilities only, never scanned before.
	tk := scanTask(t, e, scanresult.ScopeVulnerabilities, row)
	e.runAll(t)
	taskDone(t, e, tk)
	first := stateOf(t, e, ref)
	r := first.row
	if r.ScanStatus != inventory.ScanSuccess || r.VulNum == 0 || len(first.sbom.Packages) == 0 {
		t.Fatalf("vulnerabilities only: status %s, vul_num %d, %d packages; want a success with vulnerabilities",
			r.ScanStatus, r.VulNum, len(first.sbom.Packages))
	}
	if r.UnsafeSettingNum != 0 || r.MaliciousFileNum != 0 || !reflect.DeepEqual(first.analysis, scanresult.Analysis{}) {
		t.Fatalf("vulnerabilities only ran other parts: unsafe %d, malicious %d, analysis %s",
			r.UnsafeSettingNum, r.MaliciousFileNum, summary(first.analysis))
	}

	// 2. Everything.
	tk = scanTask(t, e, scanresult.ScopeAll, row)
	e.runAll(t)
	taskDone(t, e, tk)
	full := stateOf(t, e, ref)
	a := full.analysis
	if full.row.VulNum != r.VulNum || full.row.UnsafeSettingNum == 0 || full.row.MaliciousFileNum == 0 ||
		len(a.Baseline) == 0 || len(a.Malware) == 0 || len(a.Secrets) == 0 || len(a.FileHashes) == 0 {
		t.Fatalf("full scan: row %+v, analysis %s; want every part found", full.row, summary(a))
	}

	for _, tc := range []struct {
		name  string
		scope scanresult.Scope
		// the part whose stored results are written again; the others
		// must be exactly as the full scan left them
		ran scanresult.Scope
	}{
		{"baseline only", scanresult.ScopeBaseline, scanresult.ScopeBaseline},
		{"vulnerabilities only", 983040, scanresult.ScopeVulnerabilities},
		{"malware and secrets", scanresult.ScopeMalware | scanresult.ScopeSecrets, scanresult.ScopeMalware | scanresult.ScopeSecrets},
		{"compliance only runs nothing", scanresult.ScopeCompliance, scanresult.ScopeCompliance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := stateOf(t, e, ref)
			tk := scanTask(t, e, tc.scope, row)
			e.runAll(t)
			taskDone(t, e, tk)
			after := stateOf(t, e, ref)
			if after.row.ScanStatus != inventory.ScanSuccess || after.row.LatestScanTime <= before.row.LatestScanTime {
				t.Fatalf("status %s, scan time %d (before %d); want a newer success", after.row.ScanStatus,
					after.row.LatestScanTime, before.row.LatestScanTime)
			}
			// The image is the same: every count equals the full scan's,
			// whether its part ran again or was kept.
			if after.row.VulNum != full.row.VulNum || after.row.UnsafeSettingNum != full.row.UnsafeSettingNum ||
				after.row.MaliciousFileNum != full.row.MaliciousFileNum || after.row.SeverityLevel != full.row.SeverityLevel {
				t.Fatalf("counts %d/%d/%d %q; want the full scan's %d/%d/%d %q", after.row.VulNum, after.row.UnsafeSettingNum,
					after.row.MaliciousFileNum, after.row.SeverityLevel, full.row.VulNum, full.row.UnsafeSettingNum,
					full.row.MaliciousFileNum, full.row.SeverityLevel)
			}
			// The inventory is written again only by a scan with
			// vulnerabilities: its scan time says which.
			if tc.ran.Has(scanresult.ScopeVulnerabilities) != (after.sbom.ScannedAt != before.sbom.ScannedAt) {
				t.Fatalf("SBOM scanned at %d, before %d; vulnerabilities ran: %v", after.sbom.ScannedAt,
					before.sbom.ScannedAt, tc.ran.Has(scanresult.ScopeVulnerabilities))
			}
			if !reflect.DeepEqual(after.vulns, full.vulns) || len(after.sbom.Packages) != len(full.sbom.Packages) {
				t.Fatalf("vulnerabilities %v (%d packages); want %v (%d)", after.vulns, len(after.sbom.Packages),
					full.vulns, len(full.sbom.Packages))
			}
			if !reflect.DeepEqual(after.analysis, full.analysis) {
				t.Fatalf("analysis changed: got %s, want %s", summary(after.analysis), summary(full.analysis))
			}
		})
	}
}

// TestScanScopeUnion: two tasks asking for one digest share its one scan
// job, which runs the union of their scopes; a scan no task waits for runs
// every part.
func TestScanScopeUnion(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/risky", "1", riskyImage(t))
	push(t, reg, "team/other", "1", image(t, imagetest.Layer(t, imagetest.Reg("opt/eicar.com", malware.EICAR))))
	e := scopeEnv(t, reg)
	rows := e.syncAll(t)
	row := rows["team/risky:1"]

	vulns := scanTask(t, e, scanresult.ScopeVulnerabilities, row)
	base := scanTask(t, e, 0x00001000, row) // one bit of the baseline group
	e.runAll(t)
	taskDone(t, e, vulns)
	taskDone(t, e, base)
	s := stateOf(t, e, "team/risky:1")
	if s.row.VulNum == 0 || s.row.UnsafeSettingNum == 0 {
		t.Fatalf("union of vulnerabilities and baseline: vul_num %d, unsafe_setting_num %d; want both found",
			s.row.VulNum, s.row.UnsafeSettingNum)
	}
	if s.row.MaliciousFileNum != 0 || len(s.analysis.Malware) != 0 || len(s.analysis.Secrets) != 0 {
		t.Fatalf("a part no task asked for ran: malicious %d, analysis %s", s.row.MaliciousFileNum, summary(s.analysis))
	}

	if _, err := e.svc.Request(context.Background(), project, []inventory.Image{rows["team/other:1"]}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	if o := e.rows(t)["team/other:1"]; o.ScanStatus != inventory.ScanSuccess || o.MaliciousFileNum == 0 {
		t.Fatalf("a scan without a task: status %s, malicious_file_num %d; want every part run", o.ScanStatus, o.MaliciousFileNum)
	}
}

// TestAbandonedScanFailsTaskItems: when the runner gives up on a scan job
// whose workers kept dying, the items of the tasks waiting for it are
// failed with the reason, and the task ends; the sweep then fails the
// rows left waiting.
func TestAbandonedScanFailsTaskItems(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/app", "1", image(t, imagetest.Layer(t, imagetest.Reg("etc/motd", "hi\n"))))
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	row := e.syncAll(t)["team/app:1"]
	tk := scanTask(t, e, scanresult.ScopeAll, row)

	// The only attempt allowed died holding the job (its lease long gone).
	const maxAttempts = 1
	if _, err := e.store.Claim(ctx, []string{scanjob.JobKind}, "dying", time.Now().Add(-time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.NewRunner(jobs.RunnerOptions{Store: e.store, Logger: slog.New(slog.DiscardHandler), MaxAttempts: maxAttempts})
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(scanjob.JobKind, func(context.Context, jobs.Job) error {
		t.Error("the runner ran a job past its attempts")
		return nil
	})
	r.HandleAbandoned(scanjob.JobKind, e.svc.Abandon)
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetTask(ctx, project, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Finished || got.FailedNum != 1 || got.Status() != 100 {
		t.Fatalf("task after its scan was abandoned: %+v; want finished with the item failed", got)
	}
	items, _, err := e.store.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: project, TaskID: tk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].State != tasks.ItemFailed || items[0].FailedReason != "scan abandoned after 1 attempts" {
		t.Fatalf("items = %+v; want one failed, saying the scan was abandoned", items)
	}
	// The row waits for nothing: the sweep fails it.
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the abandoned scan", n, err)
	}
	if s := e.rows(t)["team/app:1"].ScanStatus; s != inventory.ScanFailed {
		t.Fatalf("row after the sweep: %s, want failed", s)
	}
}

// TestSweepFailsTaskItems: a scan whose job ended without recording it
// (a handler error fails the job at once) leaves its rows waiting; the
// sweep fails them and the items of the tasks waiting for it.
func TestSweepFailsTaskItems(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/app", "1", image(t, imagetest.Layer(t, imagetest.Reg("etc/motd", "hi\n"))))
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	row := e.syncAll(t)["team/app:1"]
	tk := scanTask(t, e, scanresult.ScopeAll, row)
	r := newRunner(t, e.store, 0)
	r.Handle(scanjob.JobKind, func(context.Context, jobs.Job) error { return errors.New("worker broke") })
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.GetTask(ctx, project, tk.ID); got.State != tasks.Running {
		t.Fatalf("task before the sweep: %+v; want still running", got)
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want one orphaned scan", n, err)
	}
	got, err := e.store.GetTask(ctx, project, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Finished || got.FailedNum != 1 {
		t.Fatalf("task after the sweep: %+v; want finished with the item failed", got)
	}
}

// TestLateTaskWiderScope: a task asking for every part joins a scan of
// vulnerabilities only while it pulls. Its item is not ended by that scan:
// the job scans again for the parts it lacked, and both tasks end with
// their item a success, the row showing every part.
func TestLateTaskWiderScope(t *testing.T) {
	gate := newBlobGate()
	reg := registrytest.New(t, registrytest.WithMiddleware(gate.middleware))
	push(t, reg, "team/risky", "1", riskyImage(t))
	e := scopeEnv(t, reg)
	row := e.syncAll(t)["team/risky:1"]

	gate.armed.Store(true)
	narrow := scanTask(t, e, scanresult.ScopeVulnerabilities, row)
	ctx, stop := context.WithCancel(context.Background())
	r := e.runner(t, 0)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-gate.held:
	case <-time.After(time.Minute):
		t.Fatal("the scan never asked for a blob")
	}
	wide := scanTask(t, e, scanresult.ScopeAll, row)
	close(gate.release)
	for _, tk := range []tasks.Task{narrow, wide} {
		waitFor(t, "task "+tk.ID, func() bool {
			got, err := e.store.GetTask(context.Background(), project, tk.ID)
			return err == nil && got.Ended()
		})
		taskDone(t, e, tk)
	}
	s := stateOf(t, e, "team/risky:1")
	if s.row.VulNum == 0 || s.row.UnsafeSettingNum == 0 || s.row.MaliciousFileNum == 0 || len(s.analysis.Secrets) == 0 {
		t.Fatalf("after both tasks: vul %d, unsafe %d, malicious %d, %s; want every part found",
			s.row.VulNum, s.row.UnsafeSettingNum, s.row.MaliciousFileNum, summary(s.analysis))
	}
}

// brokenWrites is the real store whose scan results cannot be written (a
// disk full, a lost database): only the task writes get through.
type brokenWrites struct{ *sqlite.Store }

func (brokenWrites) SaveScopedScan(context.Context, string, scanresult.Scope, scanresult.SBOM, []scanresult.Finding, scanresult.Analysis, inventory.ScanResult) error {
	return errors.New("disk full")
}

func (brokenWrites) ClearScan(context.Context, string, string, inventory.ScanResult) error {
	return errors.New("disk full")
}

// TestFailedScanJobFailsTaskItems: a scan job that cannot record its scan
// returns an error, which fails the job for good; the items of the tasks
// waiting for it are failed as it ends (database_error), not left pending.
func TestFailedScanJobFailsTaskItems(t *testing.T) {
	reg := registrytest.New(t)
	push(t, reg, "team/app", "1", image(t, imagetest.Layer(t, imagetest.Reg("etc/motd", "hi\n"))))
	e := newEnv(t, reg, envConfig{noVulnData: true})
	ctx := context.Background()
	row := e.syncAll(t)["team/app:1"]
	tk := scanTask(t, e, scanresult.ScopeAll, row)
	svc := newService(t, scanjob.Options{Store: brokenWrites{e.store}, Scanner: scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()}),
		Matcher: e.db, Box: e.box, Transport: registrytestTransport(t), Log: slog.New(slog.DiscardHandler)})
	r := newRunner(t, e.store, 0)
	r.Handle(scanjob.JobKind, svc.Handle)
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetTask(ctx, project, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tasks.Finished || got.FailedNum != 1 {
		t.Fatalf("task after its scan job failed: %+v; want finished with the item failed", got)
	}
	items, _, err := e.store.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: project, TaskID: tk.ID})
	if err != nil || len(items) != 1 || items[0].FailedReason != "database_error" {
		t.Fatalf("items = %+v, %v; want one failed with database_error", items, err)
	}
}
