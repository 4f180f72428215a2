package sqlq

import (
	"reflect"
	"strings"
)

// Col is one column of rows bound in bulk (see Builder.Rows): its
// PostgreSQL type ("text", "int8", "bool", "bytea") and its values, a slice
// ([]string, []int64, …) as long as every other column's.
type Col struct {
	Type   string
	Values any
}

// sqliteMaxArgs is how many arguments one SQLite statement may bind
// (SQLITE_MAX_VARIABLE_NUMBER).
const sqliteMaxArgs = 32766

// MaxRows is how many rows of cols columns one statement may bind with
// Rows: PostgreSQL binds a column as one array, so any number.
func (d Dialect) MaxRows(cols int) int {
	if d == Postgres || cols <= 0 {
		return int(^uint(0) >> 1)
	}
	return sqliteMaxArgs / cols
}

// Rows binds the columns cols (at least one row) and returns a row source
// for INSERT ... or IN (...): "SELECT * FROM unnest($1::text[], …)" in
// PostgreSQL, one argument per column whatever the row count, so the text
// stays the same; "VALUES (?, ?), …" in SQLite, at most MaxRows rows.
func (b *Builder) Rows(cols ...Col) string {
	if b.d == Postgres {
		marks := make([]string, len(cols))
		for i, c := range cols {
			marks[i] = b.Arg(c.Values) + "::" + c.Type + "[]"
		}
		return "SELECT * FROM unnest(" + strings.Join(marks, ", ") + ")"
	}
	vals := make([]reflect.Value, len(cols))
	for i, c := range cols {
		vals[i] = reflect.ValueOf(c.Values)
	}
	var q strings.Builder
	q.WriteString("VALUES ")
	row := make([]any, len(cols))
	for r := range vals[0].Len() {
		if r > 0 {
			q.WriteString(", ")
		}
		for i, v := range vals {
			row[i] = v.Index(r).Interface()
		}
		q.WriteString("(" + b.List(row...) + ")")
	}
	return q.String()
}
