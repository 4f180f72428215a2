package scanstoretest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// testLayerHistory: an SBOM's layer history is stored with it and read
// back as saved; one not recorded (nil, or not one entry per layer) reads
// back nil, never as another layer's.
func testLayerHistory(t *testing.T, e *env) {
	w := e.world()
	get := func(d string) scanresult.SBOM {
		t.Helper()
		sb, err := e.st.GetSBOM(e.ctx, d)
		if err != nil {
			t.Fatalf("GetSBOM(%s): %v", d, err)
		}
		return sb
	}
	sb := sbom(w.a)
	sb.History = []scanresult.LayerHistory{{Size: 100, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
		{Size: 2048, CreatedBy: "RUN /bin/sh -c go build \"-o\" /app\xff # buildkit"}}
	e.save(sb, findings())
	want := []scanresult.LayerHistory{sb.History[0], {Size: 2048, CreatedBy: "RUN /bin/sh -c go build \"-o\" /app\uFFFD # buildkit"}}
	if got := get(w.a); !equalSBOM(got, sb) || !reflect.DeepEqual(got.History, want) {
		t.Fatalf("history = %+v\nwant %+v", got.History, want)
	}
	for _, tc := range []struct {
		name string
		h    []scanresult.LayerHistory
	}{
		{"not recorded", nil},
		{"one entry short", []scanresult.LayerHistory{{Size: 1, CreatedBy: "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sbom(w.b)
			sb.History = tc.h
			e.save(sb, nil)
			if got := get(w.b); got.History != nil {
				t.Fatalf("history = %+v, want nil (not recorded)", got.History)
			}
		})
	}
	// A scan of other parts keeps the stored inventory and its history.
	if err := e.st.SaveScopedScan(e.ctx, "p1", scanresult.ScopeMalware, scanresult.SBOM{Digest: w.a, Layers: sb.Layers}, nil,
		scanresult.Analysis{}, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 6000}); err != nil {
		t.Fatal(err)
	}
	if got := get(w.a); !reflect.DeepEqual(got.History, want) {
		t.Fatalf("history after a malware scan = %+v\nwant %+v", got.History, want)
	}
}

// testScanHistory: each project's scans of a manifest, newest first, a
// success with the manifest's stored counts, a failure with its reason,
// bounded to ScanHistoryLimit. The writers of a project's result add its
// entry themselves, in the transaction that records it: ClearScan,
// SaveScopedScan, and AdoptSharedScope at the adopted result's scan time;
// a save for no project adds none.
func testScanHistory(t *testing.T, e *env) {
	w := e.world()
	hist := func(project, d string) []inventory.ScanResult {
		t.Helper()
		got, err := e.st.ScanHistory(e.ctx, project, d)
		if err != nil {
			t.Fatalf("ScanHistory(%s, %s): %v", project, d, err)
		}
		if got == nil {
			t.Fatalf("ScanHistory(%s, %s) = nil, want an empty slice", project, d)
		}
		return got
	}
	saveScoped := func(project string, scope scanresult.Scope, sb scanresult.SBOM, fs []scanresult.Finding, r inventory.ScanResult) {
		t.Helper()
		if err := e.st.SaveScopedScan(e.ctx, project, scope, sb, fs, scanresult.Analysis{}, r); err != nil {
			t.Fatalf("SaveScopedScan(%s, %#x): %v", project, scope, err)
		}
	}
	if got := hist("p1", w.a); len(got) != 0 {
		t.Fatalf("before any scan: %+v", got)
	}
	fail := inventory.ScanResult{Status: inventory.DownloadFailed, FailedDesc: "authentication_failed", ScanTime: 4000}
	if err := e.st.ClearScan(e.ctx, "p1", w.a, fail); err != nil {
		t.Fatal(err)
	}
	e.save(sbom(w.a), findings())
	if got := hist("p1", w.a); !reflect.DeepEqual(got, []inventory.ScanResult{fail}) {
		t.Fatalf("after ClearScan and a save for no project: %+v, want the failure alone", got)
	}
	saveScoped("p1", scanresult.ScopeAll, sbom(w.a), findings(), inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5000, VulNum: 3})
	// Another project adopts the shared success: its entry has the
	// result's scan time, not the adoption's.
	if ok, err := e.st.AdoptSharedScope(e.ctx, "p2", w.a, 0, scanresult.ScopeAll); err != nil || !ok {
		t.Fatalf("AdoptSharedScope = %v, %v", ok, err)
	}
	success := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5000, VulNum: 3, SeverityLevel: scanresult.LevelHigh}
	if got := hist("p2", w.a); !reflect.DeepEqual(got, []inventory.ScanResult{success}) {
		t.Fatalf("history of p2 after adopting = %+v\nwant %+v", got, success)
	}
	// A partial scan's counts are not the caller's: the manifest's stored
	// ones, which kept the other parts'.
	saveScoped("p1", scanresult.ScopeMalware, scanresult.SBOM{Digest: w.a}, nil, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 6000, VulNum: 99})
	want := []inventory.ScanResult{{Status: inventory.ScanSuccess, ScanTime: 6000, VulNum: 3, SeverityLevel: scanresult.LevelHigh}, success, fail}
	if got := hist("p1", w.a); !reflect.DeepEqual(got, want) {
		t.Fatalf("history of p1 = %+v\nwant %+v", got, want)
	}
	// Another manifest has its own.
	if got := hist("p1", w.b); len(got) != 0 {
		t.Fatalf("history of b = %+v, want none", got)
	}
	for i := range scanresult.ScanHistoryLimit + 5 {
		if err := e.st.ClearScan(e.ctx, "p2", w.a, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: fmt.Sprint("scan ", i), ScanTime: int64(10000 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := hist("p2", w.a)
	if len(got) != scanresult.ScanHistoryLimit || got[0].ScanTime != 10000+scanresult.ScanHistoryLimit+4 ||
		got[len(got)-1].ScanTime != 10005 {
		t.Fatalf("p2 after %d scans: %d entries, newest %+v, oldest %+v", scanresult.ScanHistoryLimit+5, len(got), got[0], got[len(got)-1])
	}
	if got := hist("p1", w.a); len(got) != 3 {
		t.Fatalf("p1's history after p2's pruning: %+v", got)
	}
}
