package storetest

import (
	"cmp"
	"slices"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
)

// Matches is the list's filter semantics (docs/api.md, Query parameters and
// The image list) written plainly, the
// reference the store's SQL is checked against.
func Matches(img inventory.Image, f inventory.Filter) bool {
	if img.ProjectID != f.ProjectID || img.Type != f.Type {
		return false
	}
	if f.EnterpriseProjects != nil && !slices.Contains(f.EnterpriseProjects, img.EnterpriseProjectID) {
		return false
	}
	if !strings.Contains(img.Namespace, f.Namespace) || !strings.Contains(img.Name, f.ImageName) ||
		!strings.Contains(img.Tag, f.ImageVersion) || !strings.Contains(img.InstanceName, f.InstanceName) {
		return false
	}
	if f.InstanceID != "" && img.InstanceID != f.InstanceID {
		return false
	}
	if f.LatestVersionOnly && !img.LatestVersion {
		return false
	}
	if f.ScanStatus != "" && img.ScanStatus != f.ScanStatus {
		return false
	}
	if f.MaxImageSize != nil && img.Size > *f.MaxImageSize {
		return false
	}
	if f.StartLatestUpdateTime != nil && img.LatestUpdateTime < *f.StartLatestUpdateTime {
		return false
	}
	if f.EndLatestUpdateTime != nil && img.LatestUpdateTime > *f.EndLatestUpdateTime {
		return false
	}
	if f.StartLatestScanTime != nil || f.EndLatestScanTime != nil {
		if img.LatestScanTime == 0 {
			return false
		}
		if f.StartLatestScanTime != nil && img.LatestScanTime < *f.StartLatestScanTime {
			return false
		}
		if f.EndLatestScanTime != nil && img.LatestScanTime > *f.EndLatestScanTime {
			return false
		}
	}
	count := func(want *bool, n int32) bool {
		if want == nil {
			return true
		}
		if *want {
			return n > 0
		}
		return img.ScanStatus == inventory.ScanSuccess && n == 0
	}
	return count(f.HasVul, img.VulNum) && count(f.HasUnsafeSetting, img.UnsafeSettingNum) &&
		count(f.HasMaliciousFile, img.MaliciousFileNum)
}

// Sort orders rows as the list does: latest_update_time descending, then id
// descending.
func Sort(imgs []inventory.Image) {
	slices.SortFunc(imgs, func(a, b inventory.Image) int {
		if c := cmp.Compare(b.LatestUpdateTime, a.LatestUpdateTime); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// Expect returns the ids of the rows of all that f selects, in list order.
func Expect(all []inventory.Image, f inventory.Filter) []int64 {
	var sel []inventory.Image
	for _, img := range all {
		if Matches(img, f) {
			sel = append(sel, img)
		}
	}
	Sort(sel)
	ids := make([]int64, len(sel))
	for i, img := range sel {
		ids[i] = img.ID
	}
	return ids
}
