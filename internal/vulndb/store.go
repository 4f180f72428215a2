package vulndb

import (
	"context"
	"time"
)

// Store persists records. Records reach it already encoded: the store keeps
// blobs and an index and never needs to understand OSV.
type Store interface {
	// PutVulns writes a batch in one transaction. A record replaces the
	// stored one with the same id only when its Modified is later, or equal
	// with a different Hash; its index keys replace the old ones. It
	// returns how many records were written (inserted or replaced).
	PutVulns(ctx context.Context, batch []StoredVuln) (written int, err error)
	// VulnsFor returns every non-withdrawn record indexed under any of keys,
	// one Hit per (key, record).
	VulnsFor(ctx context.Context, keys []Key) ([]Hit, error)
	// VulnStatus counts records and reports the newest import.
	VulnStatus(ctx context.Context) (Status, error)
	// LogVulnImport records a finished import.
	LogVulnImport(ctx context.Context, imp ImportLog) error
}

// StoredVuln is one record in the form the store keeps.
type StoredVuln struct {
	ID        string
	Modified  time.Time
	Withdrawn bool
	Hash      []byte // identifies Data: equal Modified and equal Hash mean "unchanged"
	Data      []byte // the Record, encoded
	Keys      []Key  // index entries; empty for withdrawn records
}

// Hit is one record found under one key.
type Hit struct {
	Key  Key
	ID   string
	Data []byte
}

// ImportLog is one finished import, as kept in the store.
type ImportLog struct {
	Source   string    `json:"source"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Records  int       `json:"records"` // records read from the source
	Written  int       `json:"written"` // records inserted or replaced
}

// Status describes the database's contents.
type Status struct {
	Records    int              `json:"records"`
	Withdrawn  int              `json:"withdrawn"`
	Ecosystems []EcosystemCount `json:"ecosystems"`
	// LastImport is nil before the first import.
	LastImport *ImportLog `json:"last_import"`
}

// EcosystemCount is the number of distinct records indexed under one
// normalised ecosystem (a record naming three Alpine releases counts once
// for each).
type EcosystemCount struct {
	Ecosystem string `json:"ecosystem"`
	Records   int    `json:"records"`
}
