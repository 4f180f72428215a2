package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"github.com/openhss/openhss/internal/inventory"
)

// reference answers the list from the images table with plain SQL written
// from the list rules of docs/api.md alone (Query parameters, The image
// list): no index choice, no image_repos, no cache. It is the
// yardstick the store's answers are checked against.
type reference struct {
	db *sql.DB
	pg bool // PostgreSQL: $n placeholders and strpos
}

func openReference(ctx context.Context, path string) (*reference, error) {
	q := url.Values{}
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reference: %w", err)
	}
	return &reference{db: db}, nil
}

// openPostgresReference connects to the bench schema (dsn's search_path)
// through its own pool.
func openPostgresReference(ctx context.Context, dsn string) (*reference, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reference: %w", err)
	}
	return &reference{db: db, pg: true}, nil
}

func (r *reference) Close() error { return r.db.Close() }

// where is fs as a WHERE over images, in r's dialect.
func (r *reference) where(fs filterSet) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		if r.pg {
			return "$" + strconv.Itoa(len(args))
		}
		return "?"
	}
	contains := func(col, sub string) string {
		if r.pg {
			return "strpos(" + col + ", " + arg(sub) + ") > 0"
		}
		return "instr(" + col + ", " + arg(sub) + ") > 0"
	}
	conds := []string{"project_id = " + arg(benchProject), "enterprise_project_id = " + arg(defaultEnterprise)}
	if !fs.AllTypes {
		conds = append(conds, "image_type = "+arg(string(inventory.PrivateImage)))
	}
	if fs.Namespace != "" {
		conds = append(conds, contains("namespace", fs.Namespace))
	}
	if fs.ImageName != "" {
		conds = append(conds, contains("name", fs.ImageName))
	}
	if fs.HasVul {
		conds = append(conds, "vul_num > 0")
	}
	if fs.ScanStatus != "" {
		conds = append(conds, "scan_status = "+arg(fs.ScanStatus))
	}
	if fs.LatestVersion {
		conds = append(conds, "latest_version = "+arg(true))
	}
	if fs.Risky {
		// docs/api.md: risky is any finding of the three kinds.
		conds = append(conds, "(vul_num > 0 OR unsafe_setting_num > 0 OR malicious_file_num > 0)")
	}
	if fs.Severity != "" {
		conds = append(conds, "severity_level = "+arg(fs.Severity))
	}
	if fs.RegistryName != "" {
		conds = append(conds, "registry_id IN (SELECT id FROM registries WHERE project_id = "+arg(benchProject)+
			" AND "+contains("name", fs.RegistryName)+")")
	}
	return strings.Join(conds, " AND "), args
}

// check fails unless page is exactly the reference's total and the ids of
// its rows at offset, in order.
func (r *reference) check(ctx context.Context, fs filterSet, offset, limit int, page inventory.Page) error {
	where, args := r.where(fs)
	var total int64
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM images WHERE `+where, args...).Scan(&total); err != nil {
		return fmt.Errorf("reference count: %w", err)
	}
	if page.Total != total {
		return fmt.Errorf("total_num %d, but COUNT(*) says %d", page.Total, total)
	}
	// The API's orders (docs/api.md, ListRegistryImages).
	order := "latest_update_time DESC, id DESC"
	switch fs.SortScan {
	case "asc":
		order = "latest_scan_time, id"
	case "desc":
		order = "latest_scan_time DESC, id DESC"
	}
	lim, off := "?", "?"
	if r.pg {
		lim, off = "$"+strconv.Itoa(len(args)+1), "$"+strconv.Itoa(len(args)+2)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT id FROM images WHERE `+where+`
		ORDER BY `+order+` LIMIT `+lim+` OFFSET `+off, append(args, limit, offset)...)
	if err != nil {
		return fmt.Errorf("reference page: %w", err)
	}
	defer rows.Close()
	var want []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("reference page: %w", err)
		}
		want = append(want, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reference page: %w", err)
	}
	got := make([]int64, len(page.Images))
	for i, img := range page.Images {
		got[i] = img.ID
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("page ids %v, but the reference has %v", got, want)
	}
	return nil
}
