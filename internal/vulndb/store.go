package vulndb

import (
	"context"
	"time"
)

// Store persists records. Records reach it already encoded: the store keeps
// blobs and an index and never needs to understand OSV.
type Store interface {
	// BeginVulnImport records an import of imp.Source as running and
	// returns its id, with the earlier imports of the same source that
	// never completed and were not completed since (newest first).
	BeginVulnImport(ctx context.Context, imp ImportLog) (id int64, unfinished []ImportLog, err error)
	// PutVulns writes a batch in one transaction. A record replaces the
	// stored one with the same id only when its Modified is later, or equal
	// with a different Hash; its index keys replace the old ones. It
	// returns how many records were written (inserted or replaced). When
	// importID is not 0, the same transaction adds len(batch) to that
	// import's Records and the count written to its Written: whatever
	// stops the process, the log and the records agree.
	PutVulns(ctx context.Context, importID int64, batch []StoredVuln) (written int, err error)
	// VulnsFor returns every non-withdrawn record indexed under any of keys,
	// one Hit per (key, record).
	VulnsFor(ctx context.Context, keys []Key) ([]Hit, error)
	// VulnStatus counts records and reports the newest completed import
	// and every import that has not completed (nor been completed by a
	// later import of its source), in the state the log holds.
	VulnStatus(ctx context.Context) (Status, error)
	// FinishVulnImport sets the state and finish time of the imports ids.
	FinishVulnImport(ctx context.Context, state ImportState, finished time.Time, ids ...int64) error
}

// ImportState is where an import stands.
type ImportState string

const (
	// ImportRunning is an import that has started and not ended; in a
	// Status it is one whose process is alive (or cannot be checked).
	ImportRunning ImportState = "running"
	// ImportComplete is an import that read its whole source.
	ImportComplete ImportState = "complete"
	// ImportInterrupted is an import that ended early: an error, a
	// cancellation, or its process died (kill -9, power loss). The
	// records it wrote are kept; importing the same source again
	// completes it.
	ImportInterrupted ImportState = "interrupted"
)

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

// ImportLog is one import, as kept in the store.
type ImportLog struct {
	ID       int64       `json:"id"`
	Source   string      `json:"source"`
	State    ImportState `json:"state"`
	Owner    string      `json:"owner"` // host and process id of the importer: "host:pid"
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"` // zero while running
	Records  int         `json:"records"`  // records read from the source (so far)
	Written  int         `json:"written"`  // records inserted or replaced (so far)
}

// Status describes the database's contents.
type Status struct {
	Records    int              `json:"records"`
	Withdrawn  int              `json:"withdrawn"`
	Ecosystems []EcosystemCount `json:"ecosystems"`
	// LastImport is the newest completed import; nil before the first.
	LastImport *ImportLog `json:"last_import"`
	// Unfinished lists, newest first, the imports that are running or were
	// interrupted and whose source has not been imported completely since.
	// Their records are counted above: run the same import again to
	// complete them.
	Unfinished []ImportLog `json:"unfinished"`
}

// EcosystemCount is the number of distinct records indexed under one
// normalised ecosystem (a record naming three Alpine releases counts once
// for each).
type EcosystemCount struct {
	Ecosystem string `json:"ecosystem"`
	Records   int    `json:"records"`
}
