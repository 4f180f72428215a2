package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/openhss/openhss/internal/inventory"
)

// reference answers the list from the images table with plain SQL written
// from the list rules of docs/api.md alone (Query parameters, The image
// list): no index choice, no image_repos, no cache. It is the
// yardstick the store's answers are checked against.
type reference struct{ db *sql.DB }

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

func (r *reference) Close() error { return r.db.Close() }

func (fs filterSet) where() (string, []any) {
	conds := []string{"project_id = ?", "enterprise_project_id = ?"}
	args := []any{benchProject, defaultEnterprise}
	if !fs.AllTypes {
		conds = append(conds, "image_type = ?")
		args = append(args, string(inventory.PrivateImage))
	}
	if fs.Namespace != "" {
		conds = append(conds, "instr(namespace, ?) > 0")
		args = append(args, fs.Namespace)
	}
	if fs.ImageName != "" {
		conds = append(conds, "instr(name, ?) > 0")
		args = append(args, fs.ImageName)
	}
	if fs.HasVul {
		conds = append(conds, "vul_num > 0")
	}
	if fs.ScanStatus != "" {
		conds = append(conds, "scan_status = ?")
		args = append(args, fs.ScanStatus)
	}
	if fs.LatestVersion {
		conds = append(conds, "latest_version = 1")
	}
	return strings.Join(conds, " AND "), args
}

// check fails unless page is exactly the reference's total and the ids of
// its rows at offset, in order.
func (r *reference) check(ctx context.Context, fs filterSet, offset, limit int, page inventory.Page) error {
	where, args := fs.where()
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
	rows, err := r.db.QueryContext(ctx, `SELECT id FROM images WHERE `+where+`
		ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
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
