package inventory

import "errors"

// Image is one row of GET /v5/{project_id}/image/swr-repository: one tag of one
// repository in one registry connection (or one imported local image).
//
// Scan fields are copies of the described manifest's scan result, kept on the
// row so that the list query filters and sorts one table.
type Image struct {
	ID                  int64
	ProjectID           string
	EnterpriseProjectID string
	RegistryID          int64 // 0 for local images
	Type                ImageType

	Namespace string
	Name      string // repository name below the namespace
	Tag       string

	// Digest is the tag's manifest digest ("sha256:<hex>"): an image index
	// for multi-arch tags.
	Digest string
	// ManifestDigest is the single-platform manifest the row describes: the
	// linux/amd64 member of an index (else its first member), or Digest itself.
	ManifestDigest string

	Size             int64 // config + layers, compressed, of ManifestDigest
	LatestUpdateTime int64 // ms: the config's created time, else first seen
	LatestVersion    bool
	Scannable        bool

	ScanStatus       ScanStatus
	ScanFailedDesc   string
	LatestScanTime   int64 // ms, 0 when never scanned
	VulNum           int32
	UnsafeSettingNum int32
	MaliciousFileNum int32
	SeverityLevel    string // as ScanResult.SeverityLevel

	// From the registry connection, for shared and enterprise images.
	DomainName   string
	SharedStatus string
	InstanceID   string
	InstanceName string
	InstanceURL  string

	// Associations lists every member of a multi-arch index (empty otherwise).
	Associations []Association
}

// ScannedDigest is the manifest whose scan results the row shows: the
// described manifest (a multi-arch tag's member), else the tag's digest.
// The API's detail routes, the CLI and the web console key on it.
func (img Image) ScannedDigest() string {
	if img.ManifestDigest != "" {
		return img.ManifestDigest
	}
	return img.Digest
}

// Association is one platform member of a multi-arch tag.
type Association struct {
	Digest     string
	Platform   string // "linux/arm64", "linux/arm/v7"
	ScanStatus ScanStatus
	// The member manifest's scan counts (0 until it is scanned).
	VulNum, UnsafeSettingNum, MaliciousFileNum int32
}

// Filter selects rows of the list. Zero values mean "no condition", except
// Type, which is always required. String filters are literal, case-sensitive
// substrings.
type Filter struct {
	ProjectID string
	// EnterpriseProjects restricts rows to these enterprise projects; nil
	// means no restriction (a credential granted all of them).
	EnterpriseProjects []string
	Type               ImageType

	Namespace    string
	ImageName    string
	ImageVersion string
	InstanceName string
	InstanceID   string // exact

	LatestVersionOnly bool
	ScanStatus        ScanStatus // "" for any
	MaxImageSize      *int64

	StartLatestUpdateTime, EndLatestUpdateTime *int64 // inclusive, ms
	StartLatestScanTime, EndLatestScanTime     *int64 // inclusive, ms

	HasVul, HasUnsafeSetting, HasMaliciousFile *bool

	// The filters and order of ListRegistryImages (GET
	// /image/registries/images); the swr-repository list leaves them zero.
	// Type may be empty there: every image type.

	// RegistryName is a literal substring of the owning connection's name
	// (local images have none, so any non-empty value excludes them).
	RegistryName string
	// RegistryTypes restricts rows to connections of these types (the
	// API's image_type harbor and jfrog); nil for any.
	RegistryTypes []RegistryType
	// StartLatestSyncTime and EndLatestSyncTime bound the owning
	// connection's latest sync time (inclusive, ms); a never-synced
	// connection (0) and local images are outside any range.
	StartLatestSyncTime, EndLatestSyncTime *int64
	// Risky: a vulnerability, failed baseline item or malicious file
	// (true), or a successful scan with none (false).
	Risky *bool
	// MultiArch: the tag is a multi-architecture image index.
	MultiArch *bool
	// SeverityLevel is exact: Security, Low, Medium or High ("" for any).
	SeverityLevel string
	// RegistryIDs restricts rows to those synced from these connections
	// (a scheduled scan's selected registries); nil for any, empty for
	// none.
	RegistryIDs []int64
	// SortByScanTime orders by latest_scan_time (never scanned = 0), then
	// id, ascending unless SortDesc; otherwise the list order is
	// latest_update_time DESC, id DESC.
	SortByScanTime, SortDesc bool

	Offset int
	Limit  int
}

// Page is one page of the list with the count of every matching row.
type Page struct {
	Total  int64
	Images []Image
}

// Shared image statuses (Image.SharedStatus).
const (
	SharedEffective = "effective"
	SharedExpired   = "expired"
)

// SharedStatus is a shared image's status at now (ms): computed when read,
// so that a share expires without a write. "effective" until expires (ms,
// 0 = never), then "expired"; "" for the other image types.
func SharedStatus(t ImageType, expires, now int64) string {
	if t != SharedImage {
		return ""
	}
	if expires > 0 && now > expires {
		return SharedExpired
	}
	return SharedEffective
}

// ErrIncompleteLocalImage is the error of a local image missing one of the
// fields that identify it.
var ErrIncompleteLocalImage = errors.New("local image needs project, name, tag and digest")

// LocalImageDefaults checks a local image to put and fills its defaults: the
// default enterprise project. It also returns the digest of the manifest the
// row describes: ManifestDigest, else Digest itself (a single-platform
// image).
func LocalImageDefaults(img Image) (Image, string, error) {
	if img.ProjectID == "" || img.Name == "" || img.Tag == "" || img.Digest == "" {
		return Image{}, "", ErrIncompleteLocalImage
	}
	if img.EnterpriseProjectID == "" {
		img.EnterpriseProjectID = DefaultEnterpriseProject
	}
	md := img.ManifestDigest
	if md == "" {
		md = img.Digest
	}
	return img, md, nil
}
