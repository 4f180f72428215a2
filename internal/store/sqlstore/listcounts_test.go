package sqlstore_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// TestImageCountsFollowWrites checks, on each engine, that image_counts
// (the per-key row counts the list sums for its totals) agrees with a
// GROUP BY over images after a bulk load and after every kind of write that
// moves rows between keys: scan results (status, finding flags, severity),
// status changes without a result, writes that move no key, a sync that
// deletes a connection's rows, and (PostgreSQL) compaction of the deltas;
// that image_time_counts (the same per day of latest_update_time) and
// image_scan_counts (per day of latest_scan_time, never scanned apart)
// agree with a GROUP BY over images likewise, also after rows move between
// days (scan results among the writes above move them between days of
// scan);
// and that the list's totals for the flag filters equal a count(*) over
// images with the list's own WHERE.
func TestImageCountsFollowWrites(t *testing.T) {
	for engine, open := range benchStores() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, 0)
			const project = "counts"
			spec := benchseed.Spec{ProjectID: project, Rows: 1200, Namespaces: 3, Repos: 30, Registries: 3}
			regID, err := benchseed.Seed(ctx, s, spec, rand.New(rand.NewPCG(5, 6)))
			if err != nil {
				t.Fatal(err)
			}
			check := func(step string) {
				t.Helper()
				fromImages, fromCounts, err := sqlstore.ImageCountKeys(ctx, s)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if len(fromImages) == 0 || !maps.Equal(fromImages, fromCounts) {
					t.Fatalf("%s: image_counts %v, images %v", step, fromCounts, fromImages)
				}
				fromImages, fromCounts, err = sqlstore.ImageTimeCountKeys(ctx, s)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if len(fromImages) == 0 || !maps.Equal(fromImages, fromCounts) {
					t.Fatalf("%s: image_time_counts %v, images %v", step, fromCounts, fromImages)
				}
				fromImages, fromCounts, err = sqlstore.ImageScanCountKeys(ctx, s)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if len(fromImages) == 0 || !maps.Equal(fromImages, fromCounts) {
					t.Fatalf("%s: image_scan_counts %v, images %v", step, fromCounts, fromImages)
				}
				fromImages, fromCounts, err = sqlstore.ImageNamespaceKeys(ctx, s)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if len(fromImages) == 0 || !maps.Equal(fromImages, fromCounts) {
					t.Fatalf("%s: image_namespaces %v, images %v", step, fromCounts, fromImages)
				}
				yes, no := true, false
				base := inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 5,
					EnterpriseProjects: []string{inventory.DefaultEnterpriseProject}}
				for name, mod := range map[string]func(*inventory.Filter){
					"has_vul":        func(f *inventory.Filter) { f.HasVul = &yes },
					"has_vul=false":  func(f *inventory.Filter) { f.HasVul = &no },
					"unsafe":         func(f *inventory.Filter) { f.HasUnsafeSetting = &yes },
					"malicious":      func(f *inventory.Filter) { f.HasMaliciousFile = &no },
					"risky":          func(f *inventory.Filter) { f.Risky = &yes },
					"risky=false":    func(f *inventory.Filter) { f.Risky = &no },
					"success":        func(f *inventory.Filter) { f.ScanStatus = inventory.ScanSuccess },
					"failed":         func(f *inventory.Filter) { f.ScanStatus = inventory.ScanFailed },
					"waiting":        func(f *inventory.Filter) { f.ScanStatus = inventory.WaitingForScan },
					"latest":         func(f *inventory.Filter) { f.LatestVersionOnly = true },
					"High":           func(f *inventory.Filter) { f.SeverityLevel = "High" },
					"Security":       func(f *inventory.Filter) { f.SeverityLevel = "Security" },
					"single arch":    func(f *inventory.Filter) { f.MultiArch = &no },
					"registry":       func(f *inventory.Filter) { f.RegistryName = "bench-01" },
					"registries":     func(f *inventory.Filter) { f.RegistryName = "bench-0"; f.Type = "" },
					"no registry":    func(f *inventory.Filter) { f.RegistryName = "nothing" },
					"registry+risky": func(f *inventory.Filter) { f.RegistryName = "bench-02"; f.Risky = &yes },
					"every type":     func(f *inventory.Filter) { f.Type = ""; f.EnterpriseProjects = nil; f.HasVul = &yes },
					// Resolved from image_namespaces, counted from it.
					"namespace":      func(f *inventory.Filter) { f.Namespace = "ns-01" },
					"namespaces":     func(f *inventory.Filter) { f.Namespace = "ns-0" },
					"namespace, eps": func(f *inventory.Filter) { f.Namespace = "ns-0"; f.EnterpriseProjects = nil },
					"namespace, ep2": func(f *inventory.Filter) { f.Namespace = "ns-02"; f.EnterpriseProjects = []string{"ep2"} },
				} {
					f := base
					mod(&f)
					page, err := s.ListImages(ctx, f)
					if err != nil {
						t.Fatalf("%s: list %s: %v", step, name, err)
					}
					want, err := sqlstore.CountImages(ctx, s, f)
					if err != nil {
						t.Fatalf("%s: count %s: %v", step, name, err)
					}
					if page.Total != want || (want > 0 && len(page.Images) == 0) {
						t.Errorf("%s: %s: total_num %d (%d rows), count(*) %d", step, name, page.Total, len(page.Images), want)
					}
				}
			}
			check("seeded")

			all, err := s.ListImages(ctx, inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 40})
			if err != nil || len(all.Images) < 40 {
				t.Fatalf("%d rows, %v", len(all.Images), err)
			}
			results := []inventory.ScanResult{
				{Status: inventory.ScanSuccess, ScanTime: 1, VulNum: 3, SeverityLevel: "High"},
				{Status: inventory.ScanSuccess, ScanTime: 2, UnsafeSettingNum: 1, SeverityLevel: "Security"},
				{Status: inventory.ScanSuccess, ScanTime: 3, MaliciousFileNum: 2, VulNum: 1, SeverityLevel: "Low"},
				{Status: inventory.ScanSuccess, ScanTime: 4, SeverityLevel: "Security"},
				{Status: inventory.ScanFailed, ScanTime: 5, FailedDesc: "unknown_error"},
			}
			for i, img := range all.Images[:20] {
				if err := s.SetScanResult(ctx, img.ManifestDigest, results[i%len(results)]); err != nil {
					t.Fatal(err)
				}
			}
			for _, img := range all.Images[20:30] {
				if err := s.SetScanStatus(ctx, project, img.ManifestDigest, inventory.WaitingForScan); err != nil {
					t.Fatal(err)
				}
				// Moves no key: the counts must not move either.
				if err := s.SetScannable(ctx, project, img.ManifestDigest, !img.Scannable); err != nil {
					t.Fatal(err)
				}
			}
			check("after scan writes")

			// Tags pushed again: rows move to other days (and back).
			if err := sqlstore.ShiftUpdateTimes(ctx, s, project, 3*86_400_000+12_345); err != nil {
				t.Fatal(err)
			}
			check("after moving rows between days")

			// Scan times moved between days, to never scanned and to day 0.
			if err := sqlstore.ShiftScanTimes(ctx, s, project, 2*86_400_000+777); err != nil {
				t.Fatal(err)
			}
			check("after moving rows between days of scan")

			// A connection edited into another enterprise project moves its
			// rows' keys.
			regs, _, err := s.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: project})
			if err != nil || len(regs) != spec.Registries {
				t.Fatalf("%d registries, %v", len(regs), err)
			}
			moved := regs[len(regs)-1]
			moved.EnterpriseProjectID = "ep2"
			if _, err := s.UpdateRegistry(ctx, moved); err != nil {
				t.Fatal(err)
			}
			check("after moving a connection to another enterprise project")

			// A sync that finds the first connection empty deletes its rows.
			if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: regID, SeenAt: 1}); err != nil {
				t.Fatal(err)
			}
			check("after an emptying sync")

			if engine == "postgres" {
				if err := sqlstore.CompactChanges(ctx, s, project); err != nil {
					t.Fatal(err)
				}
				check("after compaction")
			}
		})
	}
}

// TestDeepPagesFromDays checks, on each engine, that pages at offsets of
// at least MinJumpOffset, which start from the day holding their first row
// (summed from image_time_counts, or image_scan_counts in
// ListRegistryImages' scan-time orders, ascending and descending) instead
// of stepping over every row before it, are exactly the rows a plain ORDER BY … LIMIT … OFFSET over
// images reads: for the filters image_counts answers and others, at
// offsets inside, at the edges of and past the rows, with a write before
// every call (so no bookmark of an earlier page helps), and after rows
// moved between days of update and of scan (to never scanned and to the
// first ms of day 0 too).
func TestDeepPagesFromDays(t *testing.T) {
	for engine, open := range benchStores() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, 0)
			const project = "deep"
			spec := benchseed.Spec{ProjectID: project, Rows: 4000, Namespaces: 3, Repos: 40, Registries: 3}
			if _, err := benchseed.Seed(ctx, s, spec, rand.New(rand.NewPCG(7, 8))); err != nil {
				t.Fatal(err)
			}
			first, err := s.ListImages(ctx, inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 1})
			if err != nil || len(first.Images) != 1 {
				t.Fatalf("%d rows, %v", len(first.Images), err)
			}
			flip := first.Images[0]
			yes, no := true, false
			filters := map[string]func(*inventory.Filter){
				"type only":      func(*inventory.Filter) {},
				"every type":     func(f *inventory.Filter) { f.Type = ""; f.EnterpriseProjects = nil },
				"success":        func(f *inventory.Filter) { f.ScanStatus = inventory.ScanSuccess },
				"has_vul":        func(f *inventory.Filter) { f.HasVul = &yes },
				"risky=false":    func(f *inventory.Filter) { f.Risky = &no },
				"registry":       func(f *inventory.Filter) { f.RegistryName = "bench-01" },
				"namespace":      func(f *inventory.Filter) { f.Namespace = "ns-01" },
				"scan time desc": func(f *inventory.Filter) { f.SortByScanTime, f.SortDesc = true, true },
				"scan time asc":  func(f *inventory.Filter) { f.SortByScanTime = true },
				"scan time desc, success": func(f *inventory.Filter) {
					f.SortByScanTime, f.SortDesc, f.ScanStatus = true, true, inventory.ScanSuccess
				},
				"scan time asc, has_vul=false": func(f *inventory.Filter) { f.SortByScanTime, f.HasVul = true, &no },
				"scan time asc, every type": func(f *inventory.Filter) {
					f.SortByScanTime, f.Type, f.EnterpriseProjects = true, "", nil
				},
			}
			pages := func(step string) {
				t.Helper()
				for name, mod := range filters {
					offsets := []int{sqlstore.MinJumpOffset, sqlstore.MinJumpOffset + 1, 1777, 2500, 2999, 3998, 3999, 4000}
					// Also the edge of the never-scanned rows (bucket -1)
					// and those scanned at 1 or 2 ms (day 0), which the
					// ascending orders read first.
					f := inventory.Filter{ProjectID: project, Type: inventory.PrivateImage,
						EnterpriseProjects: []string{inventory.DefaultEnterpriseProject}}
					mod(&f)
					all, err := sqlstore.CountImages(ctx, s, f)
					if err != nil {
						t.Fatal(err)
					}
					zero := int64(0)
					f.StartLatestScanTime = &zero
					scanned, err := sqlstore.CountImages(ctx, s, f)
					if err != nil {
						t.Fatal(err)
					}
					if never := int(all - scanned); never >= sqlstore.MinJumpOffset+1 {
						offsets = append(offsets, never-1, never, never+1)
					}
					for _, offset := range offsets {
						f := inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 7, Offset: offset,
							EnterpriseProjects: []string{inventory.DefaultEnterpriseProject}}
						mod(&f)
						// A write first: a new generation, nothing cached.
						flip.Scannable = !flip.Scannable
						if err := s.SetScannable(ctx, project, flip.ManifestDigest, flip.Scannable); err != nil {
							t.Fatal(err)
						}
						page, err := s.ListImages(ctx, f)
						if err != nil {
							t.Fatalf("%s: %s at %d: %v", step, name, offset, err)
						}
						want, err := sqlstore.PageIDs(ctx, s, f)
						if err != nil {
							t.Fatalf("%s: %s at %d: %v", step, name, offset, err)
						}
						got := make([]int64, len(page.Images))
						for i, img := range page.Images {
							got[i] = img.ID
						}
						if !slices.Equal(got, want) {
							t.Errorf("%s: %s at %d: page %v, ORDER BY … OFFSET %v", step, name, offset, got, want)
						}
					}
				}
			}
			pages("seeded")
			if err := sqlstore.ShiftUpdateTimes(ctx, s, project, 86_400_000/2); err != nil {
				t.Fatal(err)
			}
			pages("after moving rows between days")
			if err := sqlstore.ShiftScanTimes(ctx, s, project, 86_400_000/3); err != nil {
				t.Fatal(err)
			}
			pages("after moving rows between days of scan")
		})
	}
}
