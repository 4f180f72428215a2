package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
)

// load writes the rows of src into table: through Options.Copy when the
// engine has it, else in multi-row INSERTs. Either way a row conflicting with
// another or with a stored one is an error: callers drop duplicates first.
func (s *Store) load(ctx context.Context, tx *sql.Tx, conn *sql.Conn, table string, cols []string, src RowSource) error {
	if src.Len() == 0 {
		return nil
	}
	if s.copy != nil {
		if err := s.copy(ctx, conn, table, cols, src); err != nil {
			return s.errf("save %s: %w", table, err)
		}
		return nil
	}
	if err := s.insertRows(ctx, tx, table, cols, src); err != nil {
		return s.errf("save %s: %w", table, err)
	}
	return nil
}

// insertRowsPer is how many rows one INSERT of insertRows writes. A
// statement per row made a re-match spend most of its time in the driver,
// once per row; 64 rows of a dozen columns stay far under SQLite's bound on
// arguments.
const insertRowsPer = 64

// insertRows writes src in INSERTs of insertRowsPer rows, the full-size
// one prepared once. A []string value is stored as StringsFromJSON does.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, src RowSource) error {
	n := src.Len()
	per := min(insertRowsPer, s.d.MaxRows(len(cols)))
	row := make([]any, len(cols))
	src.Row(0, row)
	sets := make([]bool, len(cols))
	for i, v := range row {
		_, sets[i] = v.([]string)
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(cols))
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		args = args[:0]
		for i := lo; i < hi; i++ {
			src.Row(i, row)
			for c, v := range row {
				if sets[c] {
					b, err := json.Marshal(nonNil(v.([]string)))
					if err != nil {
						return err
					}
					v = string(b)
				}
				args = append(args, v)
			}
		}
		var err error
		if hi-lo < per {
			_, err = tx.ExecContext(ctx, s.insertSQL(table, cols, sets, hi-lo), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.insertSQL(table, cols, sets, per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertSQL is the INSERT of rows rows into table's cols. Its placeholders
// are the dialect's: SQLite binds a bare ? by position, where a $n is a
// named parameter whose name it looks up in a list, once per parameter, a
// cost that grows with the square of a long statement's parameters.
func (s *Store) insertSQL(table string, cols []string, sets []bool, rows int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := range cols {
			if c > 0 {
				q.WriteString(", ")
			}
			n++
			mark := s.d.Placeholder(n)
			if sets[c] {
				mark = s.d.StringsFromJSON(mark)
			}
			q.WriteString(mark)
		}
		q.WriteByte(')')
	}
	return q.String()
}

// nonNil is ss, or an empty set for nil: stored sets are never null.
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
