package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxRecordSize bounds one record file: the largest published OSV records
// are a few hundred KiB; anything far beyond is not a record.
const maxRecordSize = 32 << 20

// ImportResult summarises one import.
type ImportResult struct {
	Source   string        `json:"source"`
	Records  int           `json:"records"` // valid records read
	Written  int           `json:"written"` // inserted or replaced (newer, or changed)
	Invalid  int           `json:"invalid"` // files that were not OSV records; skipped
	Duration time.Duration `json:"duration_ns"`
	// Resumed is true when an earlier import of the same source had not
	// completed: this one completed it. What that one wrote is not in
	// Written, so a caller that follows writes (re-matching) must act on
	// Resumed too.
	Resumed bool `json:"resumed"`
}

// Changed reports whether the import changed the records, or completed an
// interrupted import that did.
func (r ImportResult) Changed() bool { return r.Written > 0 || r.Resumed }

// Import reads OSV records from src — a directory of .json files (walked
// recursively), an OSV all.zip, a single .json record, or an http(s) URL of
// a zip — and writes them in batches. Re-importing is idempotent: a stored
// record is replaced only by a newer (or, at equal `modified`, different)
// copy. Files that are not OSV records are skipped and counted as Invalid.
//
// The import is logged in the store as running before the first write and
// each batch adds to the log in its own transaction, so an import cut short
// — by an error, a cancellation or kill -9 — leaves a log whose counts are
// the records it wrote, shown by Status as interrupted. Importing the same
// source again completes it: the records already written are skipped as
// unchanged.
func (db *DB) Import(ctx context.Context, src string) (ImportResult, error) {
	started := now()
	res := ImportResult{Source: src}
	id, unfinished, err := db.store.BeginVulnImport(ctx,
		ImportLog{Source: src, State: ImportRunning, Owner: db.owner, Started: started})
	if err != nil {
		return res, fmt.Errorf("vulndb: import %s: %w", src, err)
	}
	if len(unfinished) > 0 {
		res.Resumed = true
		// The log says running for an import whose process is gone: say
		// what happened to it.
		var dead []int64
		for _, u := range unfinished {
			if u.State == ImportRunning && !db.ownerAlive(u.Owner) {
				dead = append(dead, u.ID)
			}
		}
		if len(dead) > 0 {
			if err := db.store.FinishVulnImport(ctx, ImportInterrupted, time.Time{}, dead...); err != nil {
				return res, fmt.Errorf("vulndb: import %s: %w", src, err)
			}
		}
		db.log.Info("vulndb import completes an earlier import that did not finish", "source", src,
			"earlier", len(unfinished))
	}
	w := &batchWriter{db: db, ctx: ctx, res: &res, importID: id}
	switch {
	case strings.HasPrefix(src, "http://"), strings.HasPrefix(src, "https://"):
		err = db.importURL(ctx, src, w)
	default:
		err = importPath(ctx, src, w)
	}
	if err == nil {
		err = w.flush()
	}
	res.Duration = time.Since(started)
	state := ImportComplete
	if err != nil {
		state = ImportInterrupted
	}
	// A cancelled import still records that it ended.
	if ferr := db.store.FinishVulnImport(context.WithoutCancel(ctx), state, now(), id); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if err != nil {
		return res, fmt.Errorf("vulndb: import %s: %w", src, err)
	}
	db.log.Info("vulndb import", "source", src, "records", res.Records, "written", res.Written,
		"invalid", res.Invalid, "resumed", res.Resumed, "duration", res.Duration)
	return res, nil
}

// Update imports <baseURL>/<Ecosystem>/all.zip for each ecosystem
// (DefaultBaseURL and DefaultEcosystems when empty). An ecosystem that
// fails does not stop the others; the error joins every failure.
func (db *DB) Update(ctx context.Context, baseURL string, ecosystems []string) ([]ImportResult, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if len(ecosystems) == 0 {
		ecosystems = DefaultEcosystems
	}
	var results []ImportResult
	var errs []error
	for _, eco := range ecosystems {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		u := strings.TrimRight(baseURL, "/") + "/" + url.PathEscape(eco) + "/all.zip"
		res, err := db.Import(ctx, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, res)
	}
	if len(errs) == 0 {
		return results, nil
	}
	// One line, as the CLI prints errors, still wrapping every failure.
	format := "vulndb: update: " + strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	return results, fmt.Errorf(format, anySlice(errs)...)
}

func anySlice(errs []error) []any {
	out := make([]any, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

func importPath(ctx context.Context, path string, w *batchWriter) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			data, err := readFileLimited(p)
			if err != nil {
				return err
			}
			return w.add(p, data)
		})
	}
	isZip, err := hasZipMagic(path)
	if err != nil {
		return err
	}
	if isZip {
		return importZip(ctx, path, w)
	}
	data, err := readFileLimited(path)
	if err != nil {
		return err
	}
	return w.add(path, data)
}

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRecordSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecordSize {
		return nil, fmt.Errorf("record larger than %d bytes", maxRecordSize)
	}
	return data, nil
}

func hasZipMagic(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return n == 4 && bytes.Equal(magic[:], []byte("PK\x03\x04")), nil
}

func importZip(ctx context.Context, path string, w *batchWriter) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.EqualFold(filepath.Ext(f.Name), ".json") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := readZipEntry(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := w.add(f.Name, data); err != nil {
			return err
		}
	}
	return nil
}

func readZipEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc)
}

// importURL streams the zip at u to a temporary file (zip needs random
// access) and imports it; the file is removed afterwards.
func (db *DB) importURL(ctx context.Context, u string, w *batchWriter) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := db.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := os.MkdirAll(db.tempDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(db.tempDir, "osv-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", u, err)
	}
	return importZip(ctx, tmp.Name(), w)
}

// batchWriter parses records and writes them DB.batch at a time.
type batchWriter struct {
	db       *DB
	ctx      context.Context
	res      *ImportResult
	importID int64
	batch    []StoredVuln
}

func (w *batchWriter) add(name string, data []byte) error {
	sv, err := prepare(data)
	if err != nil {
		w.res.Invalid++
		w.db.log.Warn("vulndb: skipping file that is not an OSV record", "file", name, "err", err)
		return nil
	}
	w.res.Records++
	w.batch = append(w.batch, sv)
	if len(w.batch) >= w.db.batch {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	n, err := w.db.store.PutVulns(w.ctx, w.importID, w.batch)
	if err != nil {
		return err
	}
	w.res.Written += n
	w.batch = w.batch[:0]
	return nil
}

// prepare turns one published OSV record into its stored form.
func prepare(data []byte) (StoredVuln, error) {
	rec, err := ParseOSV(data)
	if err != nil {
		return StoredVuln{}, err
	}
	return storedForm(rec)
}

func storedForm(rec *Record) (StoredVuln, error) {
	enc, err := rec.encode()
	if err != nil {
		return StoredVuln{}, err
	}
	sum := sha256.Sum256(enc)
	sv := StoredVuln{ID: rec.ID, Modified: rec.Modified, Withdrawn: rec.IsWithdrawn(), Hash: sum[:16], Data: enc}
	if !sv.Withdrawn {
		seen := make(map[Key]bool, len(rec.Affected))
		for _, a := range rec.Affected {
			k := KeyFor(a.Ecosystem, a.Name)
			if !seen[k] {
				seen[k] = true
				sv.Keys = append(sv.Keys, k)
			}
		}
	}
	return sv, nil
}
