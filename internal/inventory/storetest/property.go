package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// testPaginationProperty fills a store with random rows and checks, for
// random filters, that (1) the unpaginated list equals the reference
// semantics, (2) concatenating pages of a random size gives the same rows
// with no duplicates, and (3) Total always equals the number of rows.
func testPaginationProperty(t *testing.T, e *env) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))

	e.project("p1")
	e.project("p2")
	regs := []inventory.Registry{
		e.registry("p1", "a.example", inventory.Harbor),
		e.registry("p1", "b.example", inventory.Jfrog, func(r *inventory.Registry) { r.EnterpriseProjectID = "ep2" }),
		e.registry("p1", "c.example", inventory.SwrEnterprise, func(r *inventory.Registry) {
			r.InstanceID, r.InstanceName = "ins-1", "Inst_%One"
		}),
		e.registry("p2", "a.example", inventory.Harbor), // must never show in p1
	}
	namespaces := []string{"lib", "Lib", "a%b", "a_b", `a\b`, "team"}
	names := []string{"app", "App", "x%y", "x_y", `x\y`, "db", "web-app"}
	tagNames := []string{"1", "2", "10", "latest", "v1.0", "V1.0", "a%", "b_", `c\`}
	digests := make([]string, 60) // shared among rows, so scans hit several
	var manifests []inventory.Manifest
	times := []int64{0, 1000, 2000, 2000, 3000, 4000} // ties on purpose; 0 = first seen
	for i := range digests {
		digests[i] = Digest(fmt.Sprintf("prop-%d", i))
		manifests = append(manifests, image(digests[i], times[rnd.IntN(len(times))], int64(rnd.IntN(5))*100))
	}
	for _, reg := range regs {
		s := inventory.Snapshot{RegistryID: reg.ID, SeenAt: 500, Manifests: manifests}
		for _, ns := range namespaces {
			for _, name := range names {
				if rnd.IntN(3) != 0 {
					continue
				}
				r := repo(ns, name)
				for _, tg := range tagNames {
					if rnd.IntN(2) == 0 {
						r.Tags = append(r.Tags, tag(tg, digests[rnd.IntN(len(digests))]))
					}
				}
				s.Repositories = append(s.Repositories, r)
			}
		}
		e.sync(s)
	}
	statuses := []inventory.ScanStatus{inventory.ScanSuccess, inventory.ScanSuccess, inventory.ScanFailed,
		inventory.Scanning, inventory.WaitingForScan, inventory.DownloadFailed, inventory.ImageOversized}
	for _, d := range digests {
		if rnd.IntN(4) == 0 {
			continue // never scanned
		}
		r := inventory.ScanResult{Status: statuses[rnd.IntN(len(statuses))], ScanTime: int64(1 + rnd.IntN(5)*1000)}
		if r.Status == inventory.ScanSuccess {
			r.VulNum, r.UnsafeSettingNum, r.MaliciousFileNum = int32(rnd.IntN(3)), int32(rnd.IntN(2)), int32(rnd.IntN(2))
		}
		e.scan(d, r)
	}

	types := []inventory.ImageType{inventory.PrivateImage, inventory.InstanceImage}
	var all []inventory.Image
	for _, typ := range types {
		rows := e.all("p1", typ)
		for _, img := range rows {
			if img.ProjectID != "p1" {
				t.Fatalf("p1 list holds %+v", img)
			}
		}
		all = append(all, rows...)
	}
	if len(all) == 0 {
		t.Fatal("no rows generated")
	}

	substr := func(pool []string) string {
		s := pool[rnd.IntN(len(pool))]
		i := rnd.IntN(len(s))
		return s[i : i+1+rnd.IntN(len(s)-i)]
	}
	i64 := func(v int64) *int64 { return &v }
	boolp := func() *bool { b := rnd.IntN(2) == 0; return &b }
	for n := range 60 {
		f := inventory.Filter{ProjectID: "p1", Type: types[rnd.IntN(len(types))]}
		maybe := func() bool { return rnd.IntN(4) == 0 }
		if maybe() {
			f.Namespace = substr(namespaces)
		}
		if maybe() {
			f.ImageName = substr(names)
		}
		if maybe() {
			f.ImageVersion = substr(tagNames)
		}
		if maybe() {
			f.InstanceName = substr([]string{"Inst_%One", "nope"})
		}
		if rnd.IntN(10) == 0 {
			f.InstanceID = "ins-1"
		}
		if maybe() {
			f.EnterpriseProjects = [][]string{{}, {"0"}, {"ep2"}, {"0", "ep2"}, {"ep3"}}[rnd.IntN(5)]
		}
		f.LatestVersionOnly = maybe()
		if maybe() {
			f.ScanStatus = append(statuses, inventory.Unscan)[rnd.IntN(len(statuses)+1)]
		}
		if maybe() {
			f.MaxImageSize = i64(int64(rnd.IntN(5)) * 100)
		}
		if maybe() {
			f.StartLatestUpdateTime = i64(times[rnd.IntN(len(times))])
		}
		if maybe() {
			f.EndLatestUpdateTime = i64(times[rnd.IntN(len(times))] + 500)
		}
		if maybe() {
			f.StartLatestScanTime = i64(int64(rnd.IntN(6)) * 1000)
		}
		if maybe() {
			f.EndLatestScanTime = i64(int64(rnd.IntN(6)) * 1000)
		}
		if maybe() {
			f.HasVul = boolp()
		}
		if maybe() {
			f.HasUnsafeSetting = boolp()
		}
		if maybe() {
			f.HasMaliciousFile = boolp()
		}

		want := Expect(all, f)
		full := f
		full.Limit = 1 << 30
		p := e.list(full)
		if got := ids(p.Images); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("filter %d %s:\nunpaginated %v\nreference   %v", n, describe(f), got, want)
		}
		if p.Total != int64(len(want)) {
			t.Fatalf("filter %d %s: total %d, want %d", n, describe(f), p.Total, len(want))
		}
		// Twice: the second pass may be served from cached totals and
		// bookmarks, and must not differ.
		for pass := range 2 {
			limit := 1 + rnd.IntN(200)
			if rnd.IntN(2) == 0 {
				limit = 1 + rnd.IntN(7)
			}
			var got []int64
			seen := map[int64]bool{}
			for off := 0; ; off += limit {
				pf := f
				pf.Offset, pf.Limit = off, limit
				pg := e.list(pf)
				if pg.Total != int64(len(want)) {
					t.Fatalf("filter %d pass %d offset %d: total %d, want %d", n, pass, off, pg.Total, len(want))
				}
				if len(pg.Images) > limit {
					t.Fatalf("page of %d rows for limit %d", len(pg.Images), limit)
				}
				for _, img := range pg.Images {
					if seen[img.ID] {
						t.Fatalf("filter %d: id %d on two pages", n, img.ID)
					}
					seen[img.ID] = true
					got = append(got, img.ID)
				}
				if len(pg.Images) < limit {
					break
				}
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("filter %d %s pass %d limit %d:\npages     %v\nreference %v", n, describe(f), pass, limit, got, want)
			}
		}
	}
}

func ids(imgs []inventory.Image) []int64 {
	out := make([]int64, len(imgs))
	for i, img := range imgs {
		out[i] = img.ID
	}
	return out
}

func describe(f inventory.Filter) string {
	var parts []string
	add := func(k string, v any) { parts = append(parts, fmt.Sprintf("%s=%v", k, v)) }
	add("type", f.Type)
	if f.EnterpriseProjects != nil {
		add("eps", f.EnterpriseProjects)
	}
	for k, v := range map[string]string{"ns": f.Namespace, "name": f.ImageName, "version": f.ImageVersion,
		"instance_name": f.InstanceName, "instance_id": f.InstanceID, "status": string(f.ScanStatus)} {
		if v != "" {
			add(k, fmt.Sprintf("%q", v))
		}
	}
	if f.LatestVersionOnly {
		add("latest", true)
	}
	for k, v := range map[string]*int64{"max_size": f.MaxImageSize, "upd>=": f.StartLatestUpdateTime, "upd<=": f.EndLatestUpdateTime,
		"scan>=": f.StartLatestScanTime, "scan<=": f.EndLatestScanTime} {
		if v != nil {
			add(k, *v)
		}
	}
	for k, v := range map[string]*bool{"vul": f.HasVul, "unsafe": f.HasUnsafeSetting, "malicious": f.HasMaliciousFile} {
		if v != nil {
			add(k, *v)
		}
	}
	slices.Sort(parts[1:])
	return "{" + strings.Join(parts, " ") + "}"
}
