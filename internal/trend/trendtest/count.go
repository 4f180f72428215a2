package trendtest

import (
	"fmt"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/trend"
)

// listCounts is how trend.Count counted before the store had
// ImageCounts, kept as the reference: each figure the total_num of an
// image list query (Limit 1) per image type, summed over the types (the
// image figures; the findings were CountFindings' then as now).
func listCounts(e *env, projectID string, eps []string) trend.Counts {
	e.t.Helper()
	total := func(mod func(f *inventory.Filter)) int64 {
		var n int64
		for _, t := range inventory.ImageTypes() {
			f := inventory.Filter{ProjectID: projectID, EnterpriseProjects: eps, Type: t, Limit: 1}
			mod(&f)
			page, err := e.st.ListImages(e.ctx, f)
			if err != nil {
				e.t.Fatalf("ListImages(%+v): %v", f, err)
			}
			n += page.Total
		}
		return n
	}
	statuses := func(sts ...inventory.ScanStatus) int64 {
		var n int64
		for _, st := range sts {
			n += total(func(f *inventory.Filter) { f.ScanStatus = st })
		}
		return n
	}
	var out trend.Counts
	out.Images = total(func(*inventory.Filter) {})
	out.Scanned = statuses(inventory.ScanSuccess)
	out.Failed = statuses(trend.Failed...)
	out.Unscanned = statuses(inventory.Unscan)
	out.Waiting = statuses(inventory.WaitingForScan, inventory.Scanning)
	for i, level := range trend.Levels {
		out.Levels[i] = total(func(f *inventory.Filter) { f.SeverityLevel = level })
	}
	for ti, t := range inventory.ImageTypes() {
		for si, st := range trend.Failed {
			f := inventory.Filter{ProjectID: projectID, EnterpriseProjects: eps, Type: t, ScanStatus: st, Limit: 1}
			page, err := e.st.ListImages(e.ctx, f)
			if err != nil {
				e.t.Fatalf("ListImages(%+v): %v", f, err)
			}
			out.FailedBy[ti][si] = page.Total
		}
	}
	return out
}

// variedWorld is p1 with every image type, every scan status and every
// severity level over enterprise projects A, B, C and 0 (the local
// images'), and p2 with rows of its own; rows are then rescanned, untagged
// and a connection deleted, so that PostgreSQL's image_counts holds
// delta rows, some cancelling.
func (e *env) variedWorld() {
	e.t.Helper()
	for _, p := range []string{"p1", "p2"} {
		if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: p}); err != nil {
			e.t.Fatal(err)
		}
	}
	connect := func(project, ep, addr string, typ inventory.RegistryType) inventory.Registry {
		e.t.Helper()
		r := inventory.Registry{ProjectID: project, EnterpriseProjectID: ep, Name: addr, Type: typ, Protocol: "https", Addr: addr}
		if typ == inventory.SwrEnterprise {
			r.InstanceID, r.InstanceName = "ins-"+addr, "instance "+addr
		}
		got, err := e.st.CreateRegistry(e.ctx, r)
		if err != nil {
			e.t.Fatal(err)
		}
		return got
	}
	regs := []inventory.Registry{
		connect("p1", "A", "a.example", inventory.Harbor),
		connect("p1", "B", "b.example", inventory.SwrShared),
		connect("p1", "C", "c.example", inventory.SwrEnterprise),
		connect("p1", "A", "d.example", inventory.SwrEnterprise),
		connect("p1", "B", "e.example", inventory.Jfrog),
		connect("p2", "A", "a.example", inventory.Harbor),
	}
	// 14 digests, shared among the connections' tags so that one scan
	// result lands on rows of several types and enterprise projects.
	digests := make([]string, 14)
	for i := range digests {
		digests[i] = storetest.Digest(fmt.Sprintf("varied-%d", i))
	}
	manifest := func(d string) inventory.Manifest {
		return inventory.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 100,
			Created: 1000, Platform: "linux/amd64", Scannable: true}
	}
	syncTags := func(r inventory.Registry, seenAt int64, n int) {
		e.t.Helper()
		var ms []inventory.Manifest
		var repos []inventory.RepoSnapshot
		for k, name := range []string{"app", "web", "db"} {
			rs := inventory.RepoSnapshot{Namespace: "lib", Name: name}
			for i := range n {
				d := digests[(int(r.ID)*3+k*5+i)%len(digests)]
				rs.Tags = append(rs.Tags, inventory.TagRef{Tag: fmt.Sprint(i), Digest: d, ManifestDigest: d})
				ms = append(ms, manifest(d))
			}
			repos = append(repos, rs)
		}
		if _, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: r.ID, SeenAt: seenAt, Manifests: ms,
			Repositories: repos}); err != nil {
			e.t.Fatalf("ApplySync: %v", err)
		}
	}
	for _, r := range regs {
		syncTags(r, 1, 6)
	}
	for i, name := range []string{"tool", "cli", "agent"} {
		d := digests[(i*4)%len(digests)]
		img := inventory.Image{ProjectID: "p1", Namespace: "imported", Name: name, Tag: "1", Digest: d}
		if _, err := e.st.PutLocalImage(e.ctx, img, []inventory.Manifest{manifest(d)}); err != nil {
			e.t.Fatalf("PutLocalImage: %v", err)
		}
	}
	// Every status, the successful ones at every level; two digests stay
	// unscanned.
	results := []inventory.ScanResult{
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelHigh, VulNum: 3},
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelMedium, VulNum: 2},
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelLow, VulNum: 1},
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelSecurity},
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelHigh, VulNum: 1},
		{Status: inventory.ScanFailed, FailedDesc: "broken"},
		{Status: inventory.DownloadFailed, FailedDesc: "gone"},
		{Status: inventory.ImageOversized, FailedDesc: "big"},
		{Status: inventory.WaitingForScan},
		{Status: inventory.Scanning},
		{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelMedium, VulNum: 4},
		{Status: inventory.ScanFailed, FailedDesc: "broken"},
	}
	scan := func(d string, r inventory.ScanResult) {
		e.t.Helper()
		r.ScanTime = 5000
		if err := e.st.SetScanResult(e.ctx, d, r); err != nil {
			e.t.Fatalf("SetScanResult: %v", err)
		}
	}
	for i, r := range results {
		scan(digests[i], r)
	}
	// The changes after insert: rescans moving rows between statuses and
	// levels (there and back for one, so its key's deltas cancel), tags
	// dropped, a connection deleted.
	scan(digests[0], inventory.ScanResult{Status: inventory.Scanning})
	scan(digests[0], results[0])
	scan(digests[1], inventory.ScanResult{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelLow, VulNum: 1})
	scan(digests[8], inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "timeout"})
	scan(digests[5], inventory.ScanResult{Status: inventory.ScanSuccess, SeverityLevel: scanresult.LevelHigh, VulNum: 7})
	syncTags(regs[0], 2, 4)
	syncTags(regs[1], 2, 3)
	if err := e.st.DeleteRegistry(e.ctx, "p1", regs[4].ID); err != nil {
		e.t.Fatalf("DeleteRegistry: %v", err)
	}
}

// testCountIsTheListTotals checks that trend.Count, one read of the image
// counts, gives exactly the figures the image list's totals summed over
// image types gave, for every enterprise projects, a subset and none.
func testCountIsTheListTotals(t *testing.T, e *env) {
	e.variedWorld()
	for _, tc := range []struct {
		name    string
		project string
		eps     []string
	}{
		{"every enterprise project", "p1", nil},
		{"a subset", "p1", []string{"A", "0"}},
		{"one", "p1", []string{"C"}},
		{"none granted", "p1", []string{}},
		{"an unknown one", "p1", []string{"Z"}},
		{"another project", "p2", nil},
		{"no such project", "p3", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Count first: the list may compact PostgreSQL's deltas (in the
			// background), and the first case should sum them uncompacted.
			got, err := trend.Count(e.ctx, e.st, tc.project, tc.eps)
			if err != nil {
				t.Fatal(err)
			}
			// The findings are CountFindings' in both ways of counting
			// (SnapshotCountsAsTheOverview checks them); this compares the
			// image figures, which ImageCounts gives.
			got.Findings = [trend.NumSeverities]trend.Tally{}
			want := listCounts(e, tc.project, tc.eps)
			if got != want {
				t.Fatalf("Count = %+v\nlist totals %+v", got, want)
			}
		})
	}
	// The world is varied enough to tell groupings apart: every figure of
	// the whole project is counted.
	all := listCounts(e, "p1", nil)
	if all.Images == 0 || all.Scanned == 0 || all.Failed == 0 || all.Unscanned == 0 || all.Waiting == 0 ||
		all.Levels[0] == 0 || all.Levels[1] == 0 || all.Levels[2] == 0 {
		t.Fatalf("the varied world leaves a figure at 0: %+v", all)
	}
	if sub := listCounts(e, "p1", []string{"A", "0"}); sub.Images == 0 || sub.Images == all.Images {
		t.Fatalf("the subset counts %d of %d images: want some, not all", sub.Images, all.Images)
	}
}
