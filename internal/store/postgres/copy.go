package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openhss/openhss/internal/store/sqlstore"
)

// copyRows loads src with COPY on the transaction's connection: a
// re-match writes hundreds of thousands of findings, and COPY streams them
// without a statement per chunk.
func copyRows(ctx context.Context, conn *sql.Conn, table string, cols []string, src sqlstore.RowSource) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: driver connection is a %T, not pgx's", table, dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, &copySource{src: src, row: make([]any, len(cols))})
		return err
	})
}

// copySource is a RowSource as a pgx.CopyFromSource.
type copySource struct {
	src  sqlstore.RowSource
	next int
	row  []any
}

func (c *copySource) Next() bool { c.next++; return c.next <= c.src.Len() }
func (c *copySource) Err() error { return nil }
func (c *copySource) Values() ([]any, error) {
	c.src.Row(c.next-1, c.row)
	return c.row, nil
}
