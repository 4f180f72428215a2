package inventory

// RegistryType is the HSS registry_type of a connection.
type RegistryType string

const (
	SwrPrivate    RegistryType = "SwrPrivate"
	SwrShared     RegistryType = "SwrShared"
	SwrEnterprise RegistryType = "SwrEnterprise"
	Harbor        RegistryType = "Harbor"
	Jfrog         RegistryType = "Jfrog"
	OtherRegistry RegistryType = "Other"
)

// Valid reports whether t is a registry type HSS knows.
func (t RegistryType) Valid() bool {
	switch t {
	case SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, OtherRegistry:
		return true
	}
	return false
}

// ImageType is the image_type of the rows a connection of this kind yields.
func (t RegistryType) ImageType() ImageType {
	switch t {
	case SwrShared:
		return SharedImage
	case SwrEnterprise:
		return InstanceImage
	}
	return PrivateImage
}

// Registry connection states as stored. The API shows the SDK's three
// values instead (APIRegistryStatus): the store keeps pending and syncing
// apart because only a connection left "syncing" by a dead worker is
// failed as abandoned.
const (
	RegistryPending = "pending" // added, never synced
	RegistrySyncing = "syncing"
	RegistryOK      = "success"
	RegistryFailed  = "fail"
)

// RegistryAccessing is the SDK's RegistryInfo.status for a connection
// whose sync has not ended: stored pending or syncing.
const RegistryAccessing = "accessing"

// APIRegistryStatus is the SDK's status (success, fail or accessing) of a
// connection with the stored status s. docs/api.md records the mapping.
func APIRegistryStatus(s string) string {
	switch s {
	case RegistryPending, RegistrySyncing:
		return RegistryAccessing
	}
	return s
}

// StoredRegistryStatuses are the stored statuses an SDK status filter
// (success, fail or accessing) stands for; nil when it is none of them.
func StoredRegistryStatuses(api string) []string {
	switch api {
	case RegistryOK, RegistryFailed:
		return []string{api}
	case RegistryAccessing:
		return []string{RegistryPending, RegistrySyncing}
	}
	return nil
}

// Registry is a connection to one OCI/Docker registry (optionally limited to
// one namespace) owned by one project and enterprise project.
type Registry struct {
	ID                  int64
	ProjectID           string
	EnterpriseProjectID string

	Name                string
	Type                RegistryType
	APIVersion          string
	Protocol            string // "http" or "https"
	Addr                string // host[:port]
	Username            string
	PasswordSealed      []byte // encrypted with the server's master key; never returned by the API. On update, nil keeps the stored one and empty clears it
	Namespace           string // "" for every namespace
	ConnectClusterID    string
	GetScanImageChannel string

	// Shared and enterprise connections.
	DomainName    string
	SharedExpires int64 // ms; 0 = never
	InstanceID    string
	InstanceName  string
	InstanceURL   string

	Status         string
	FailReason     string
	LatestSyncTime int64 // ms
	ImagesNum      int32 // rows currently synced from it (computed by the store)
	CreatedAt      int64 // ms
}

// RegistryFilter selects registry connections (ListRegistry's parameters).
type RegistryFilter struct {
	ProjectID          string
	EnterpriseProjects []string // nil: no restriction
	Name               string   // substring
	ID                 int64    // exact, 0 for any
	Type               RegistryType
	Addr               string // substring
	Status             string
	Statuses           []string // stored statuses, any of them; nil for any
	Offset, Limit      int
}

// RegistryStatsFilter selects the connections ListRegistryStatistics
// counts.
type RegistryStatsFilter struct {
	ProjectID          string
	EnterpriseProjects []string       // nil: no restriction
	Types              []RegistryType // nil: every type
}

// Manifest is what a sync learned about one manifest digest. Content is
// addressed by digest, so one Manifest serves every tag, repository and
// project that points at it.
type Manifest struct {
	Digest       string // "sha256:<hex>"
	MediaType    string
	ArtifactType string // config media type (or artifactType) for non-images
	Size         int64  // config + layers, compressed; for an index: 0
	Created      int64  // ms from the config's created; 0 when absent
	Platform     string // "linux/amd64"; "" for indexes and artifacts
	Scannable    bool
	Members      []Association // members of an index, in index order
}

// RepoSnapshot is the complete tag listing of one repository as a sync saw it.
type RepoSnapshot struct {
	Namespace string
	Name      string
	Tags      []TagRef
}

// TagRef is one tag of a repository at sync time.
type TagRef struct {
	Tag            string
	Digest         string // the tag's manifest (maybe an index)
	ManifestDigest string // the single-platform manifest the row describes
}

// Snapshot is the result of listing one registry connection. ApplySync makes
// the store match it: new tags become rows, moved tags keep their id and reset
// their scan fields, and tags that vanished are removed. Repositories listed
// in Failed could not be read this time: their rows are left untouched.
type Snapshot struct {
	RegistryID   int64
	Repositories []RepoSnapshot
	Failed       []string // "namespace/name" of repositories whose listing failed
	Manifests    []Manifest
	SeenAt       int64 // ms: "first seen" time for new rows without a created time
}

// SyncResult counts what ApplySync changed.
type SyncResult struct {
	Added, Moved, Removed, Unchanged int
}
