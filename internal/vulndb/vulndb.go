package vulndb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// Options configure a DB. Store is required.
type Options struct {
	Store  Store
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
	owner   string // "host:pid", logged with each import
	host    string
}

// New returns a DB over opts.Store.
func New(opts Options) (*DB, error) {
	if opts.Store == nil {
		return nil, errors.New("vulndb: Options.Store is required")
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("vulndb: Options.BatchSize %d is negative", opts.BatchSize)
	}
	db := &DB{store: opts.Store, log: opts.Logger, client: opts.HTTPClient, tempDir: opts.TempDir, batch: opts.BatchSize}
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
	db.host, _ = os.Hostname()
	db.owner = db.host + ":" + strconv.Itoa(os.Getpid())
	return db, nil
}

// Status reports record counts per ecosystem, the last completed import
// and the imports that did not complete. An import the log still calls
// running whose process is gone (killed) is reported as interrupted.
func (db *DB) Status(ctx context.Context) (Status, error) {
	st, err := db.store.VulnStatus(ctx)
	if err != nil {
		return st, err
	}
	for i, u := range st.Unfinished {
		if u.State == ImportRunning && !db.ownerAlive(u.Owner) {
			st.Unfinished[i].State = ImportInterrupted
		}
	}
	return st, nil
}

// ownerAlive reports whether the process that logged an import as owner
// may still run it. Only a process of this host can be checked; any other
// owner is taken as alive.
func (db *DB) ownerAlive(owner string) bool {
	i := strings.LastIndexByte(owner, ':')
	if i < 0 || owner[:i] != db.host {
		return true
	}
	pid, err := strconv.Atoi(owner[i+1:])
	if err != nil {
		return true
	}
	return processAlive(pid)
}

// processAlive reports whether pid names a live process: signal 0 checks
// without signalling. A process of another user (EPERM) is alive; where
// the check is not supported, the answer is "alive".
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH)
}

func now() time.Time { return time.Now().UTC() }
