package vulndb

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// DefaultBaseURL is the public OSV bucket, which publishes
// <base>/<Ecosystem>/all.zip.
const DefaultBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are the ecosystems `db update` fetches when none are
// named: those whose packages the scanner extracts.
var DefaultEcosystems = []string{"Alpine", "Debian", "Ubuntu", "Go", "npm", "PyPI", "Maven"}

// DefaultBatchSize is how many records one store transaction writes.
const DefaultBatchSize = 1000

// Options configure a DB. The zero value works.
type Options struct {
	Logger *slog.Logger
	// HTTPClient fetches URL imports; http.DefaultClient when nil.
	HTTPClient *http.Client
	// TempDir holds downloaded zips while they are imported (zip needs
	// random access); os.TempDir() when empty.
	TempDir string
	// BatchSize is the number of records per write transaction.
	BatchSize int
}

// DB imports OSV records into a Store and matches packages against them.
type DB struct {
	store   Store
	log     *slog.Logger
	client  *http.Client
	tempDir string
	batch   int
}

// New returns a DB over store.
func New(store Store, opts Options) *DB {
	db := &DB{store: store, log: opts.Logger, client: opts.HTTPClient, tempDir: opts.TempDir, batch: opts.BatchSize}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if db.client == nil {
		db.client = http.DefaultClient
	}
	if db.tempDir == "" {
		db.tempDir = os.TempDir()
	}
	if db.batch <= 0 {
		db.batch = DefaultBatchSize
	}
	return db
}

// Status reports record counts per ecosystem and the last import.
func (db *DB) Status(ctx context.Context) (Status, error) {
	return db.store.VulnStatus(ctx)
}

func now() time.Time { return time.Now().UTC() }
