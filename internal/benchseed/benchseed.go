// Package benchseed generates the synthetic inventory the store is
// benchmarked on and seeds a store with it (Seed, through the store's bulk
// loader). It lives outside internal/store so that the openhss binary does
// not link it; both engines draw from the same generator, so the same seed
// gives the same data in either.
package benchseed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/openhss/openhss/internal/inventory"
)

// Spec describes a synthetic inventory for benchmarks.
type Spec struct {
	ProjectID  string
	Rows       int // image rows (tags)
	Namespaces int
	Repos      int // repositories, spread evenly over the namespaces
	// Registries is how many registry connections the repositories are
	// spread over (repository r in connection r mod Registries); 0 or 1:
	// one connection named "bench", more: "bench-00", "bench-01", …
	Registries int
}

// Validate reports whether the spec can be laid out: every namespace gets a
// repository and every repository a tag.
func (s Spec) Validate() error {
	if s.Namespaces <= 0 || s.Repos < s.Namespaces || s.Rows < s.Repos {
		return errors.New("need rows >= repos >= namespaces > 0")
	}
	return nil
}

// Row is one private_image row of the synthetic inventory. The digest
// doubles as the manifest digest; the latest update time as first seen.
type Row struct {
	Namespace, Name, Tag, Digest string
	Status                       inventory.ScanStatus
	FailedDesc                   string
	Size                         int64
	LatestUpdateTime             int64 // Unix ms
	ScanTime                     int64 // Unix ms, 0 if never scanned
	Latest                       bool  // the latest_version row of its repository
	Vul, Unsafe, Malicious       int
	// Severity is the image's severity_level: '' unless scanned with
	// success, then Security without vulnerabilities, else High, Medium
	// or Low (a third each, from the vulnerability count).
	Severity string
	Registry int // index into Inventory.Registries
}

// Inventory is what Generate yields: the registry connections to create
// and the rows to load into them.
type Inventory struct {
	Registries []inventory.Registry
	Rows       []Row
}

// Generate lays out spec: Harbor registry connections of spec.ProjectID
// (spec.Registries, at least one),
// namespaces "ns-NN", repositories "app-NNNNN", tags "v<n>"; times spread
// over a year, with a realistic mix of scan statuses (most scanned, a third
// of those with vulnerabilities) and exactly one latest_version row per
// repository. The rows come sorted by repository, each repository's tags by
// time: bulk loads then build their indexes from nearly sorted input.
//
// Everything is drawn from rnd, in a fixed order, so a seed fixes the data.
func Generate(spec Spec, rnd *rand.Rand) (Inventory, error) {
	if err := spec.Validate(); err != nil {
		return Inventory{}, err
	}
	// One draw for every connection's address: the rows draw the same
	// numbers whatever the number of connections.
	addr := rnd.Int64()
	var inv Inventory
	if spec.Registries <= 1 {
		inv.Registries = []inventory.Registry{{
			ProjectID: spec.ProjectID, Name: "bench", Type: inventory.Harbor, Protocol: "https",
			Addr: fmt.Sprintf("bench-%d.example", addr), Status: inventory.RegistryOK,
		}}
	}
	for i := range spec.Registries {
		if spec.Registries <= 1 {
			break
		}
		inv.Registries = append(inv.Registries, inventory.Registry{
			ProjectID: spec.ProjectID, Name: fmt.Sprintf("bench-%02d", i), Type: inventory.Harbor, Protocol: "https",
			Addr: fmt.Sprintf("bench-%d-%d.example", addr, i), Status: inventory.RegistryOK,
		})
	}
	const year = int64(365 * 24 * 3600 * 1000)
	const week = int64(7 * 24 * 3600 * 1000)
	base := int64(1_700_000_000_000)
	statuses := []struct {
		s      inventory.ScanStatus
		weight int
	}{
		{inventory.ScanSuccess, 70}, {inventory.Unscan, 15}, {inventory.ScanFailed, 5},
		{inventory.WaitingForScan, 4}, {inventory.Scanning, 2}, {inventory.DownloadFailed, 2}, {inventory.ImageOversized, 2},
	}
	pickStatus := func() inventory.ScanStatus {
		n := rnd.IntN(100)
		for _, st := range statuses {
			if n < st.weight {
				return st.s
			}
			n -= st.weight
		}
		return inventory.ScanSuccess
	}
	rows := make([]Row, 0, spec.Rows)
	luts := make([]int64, 0, spec.Rows/spec.Repos+1)
	for r := range spec.Repos {
		ns := fmt.Sprintf("ns-%02d", r%spec.Namespaces)
		name := fmt.Sprintf("app-%05d", r)
		tags := spec.Rows / spec.Repos
		if r < spec.Rows%spec.Repos {
			tags++
		}
		luts = luts[:0]
		latest := 0
		for t := range tags {
			lut := base + rnd.Int64N(year)
			luts = append(luts, lut)
			// Ties go to the greater tag as text, as the stores order tags.
			if lut > luts[latest] || (lut == luts[latest] && fmt.Sprint(t) > fmt.Sprint(latest)) {
				latest = t
			}
		}
		for t, lut := range luts {
			row := Row{Namespace: ns, Name: name, Tag: fmt.Sprintf("v%d", t), LatestUpdateTime: lut, Latest: t == latest,
				Size: 1_000_000 + rnd.Int64N(500_000_000), Registry: r % len(inv.Registries)}
			row.Status = pickStatus()
			switch row.Status {
			case inventory.ScanSuccess:
				row.ScanTime = lut + rnd.Int64N(week)
				if rnd.IntN(3) == 0 {
					row.Vul = 1 + rnd.IntN(200)
				}
				if rnd.IntN(5) == 0 {
					row.Unsafe = 1 + rnd.IntN(10)
				}
				if rnd.IntN(50) == 0 {
					row.Malicious = 1 + rnd.IntN(3)
				}
				row.Severity = "Security"
				if row.Vul > 0 {
					row.Severity = []string{"High", "Medium", "Low"}[row.Vul%3]
				}
			case inventory.ScanFailed:
				row.ScanTime = lut + rnd.Int64N(week)
				row.FailedDesc = "unknown_error"
			}
			row.Digest = fmt.Sprintf("sha256:%016x%016x%016x%016x", rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64())
			rows = append(rows, row)
		}
	}
	// Repository order, each repository's tags by time: the index builds of
	// a bulk load then sort nearly sorted input, and the repository index
	// (the widest key) none at all. Measured on SQLite: a third less CPU
	// than time order, half of random order.
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.LatestUpdateTime, b.LatestUpdateTime))
	})
	inv.Rows = rows
	return inv, nil
}

// Store is the part of a store Seed writes through.
type Store interface {
	EnsureProject(ctx context.Context, p inventory.Project) (inventory.Project, error)
	CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	LoadImages(ctx context.Context, n int, image func(i int) inventory.Image) error
}

// Seed generates spec's inventory (private_image rows in spec.Registries
// new registry connections of spec.ProjectID, at least one) and bulk-loads
// it into st; it returns the first connection's id.
func Seed(ctx context.Context, st Store, spec Spec, rnd *rand.Rand) (int64, error) {
	inv, err := Generate(spec, rnd)
	if err != nil {
		return 0, err
	}
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: spec.ProjectID, Name: spec.ProjectID}); err != nil {
		return 0, fmt.Errorf("seed: project: %w", err)
	}
	for i, r := range inv.Registries {
		if inv.Registries[i], err = st.CreateRegistry(ctx, r); err != nil {
			return 0, fmt.Errorf("seed: registry: %w", err)
		}
	}
	err = st.LoadImages(ctx, len(inv.Rows), func(i int) inventory.Image {
		r := &inv.Rows[i]
		return inventory.Image{ProjectID: spec.ProjectID, EnterpriseProjectID: inventory.DefaultEnterpriseProject,
			RegistryID: inv.Registries[r.Registry].ID, Type: inventory.PrivateImage, Namespace: r.Namespace, Name: r.Name, Tag: r.Tag,
			Digest: r.Digest, ManifestDigest: r.Digest, Size: r.Size, LatestUpdateTime: r.LatestUpdateTime,
			LatestVersion: r.Latest, Scannable: true, ScanStatus: r.Status, ScanFailedDesc: r.FailedDesc,
			LatestScanTime: r.ScanTime, VulNum: int32(r.Vul), UnsafeSettingNum: int32(r.Unsafe), MaliciousFileNum: int32(r.Malicious),
			SeverityLevel: r.Severity}
	})
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	return inv.Registries[0].ID, nil
}
