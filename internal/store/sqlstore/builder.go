package sqlstore

import (
	"reflect"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
)

// The text a builder makes of a filter depends only on its shape (which
// fields are set, how many values a set holds), never on the values, which
// are always arguments: the SQLite store caches prepared statements by
// their text (StmtCache), and pgx caches them the same way.

// builder accumulates conditions, joined by AND, and their arguments, in
// the order they are added.
type builder struct {
	d     Dialect
	conds []string
	args  []any
}

// newBuilder returns a builder in dialect d whose first arguments are args (those
// of a clause built before, which the new conditions extend).
func newBuilder(d Dialect, args ...any) *builder {
	// Room for a list filter's usual conditions without regrowing.
	b := &builder{d: d, conds: make([]string, 0, 8), args: make([]any, len(args), len(args)+8)}
	copy(b.args, args)
	return b
}

// newScoped returns a builder in dialect d holding that the rows are
// projectID's, in enterpriseProjects (nil: every one): the scope of a
// caller, its columns named with prefix (a table's alias and a dot, or ""
// for a table read alone).
func newScoped(d Dialect, prefix, projectID string, enterpriseProjects []string) *builder {
	b := newBuilder(d)
	b.Eq(prefix+"project_id", projectID)
	if enterpriseProjects != nil {
		b.In(prefix+"enterprise_project_id", enterpriseProjects)
	}
	return b
}

// newImageScoped is newScoped for an image filter: f's project, image
// type (when set) and enterprise projects, in that order.
func newImageScoped(d Dialect, prefix string, f inventory.Filter) *builder {
	b := newBuilder(d)
	b.Eq(prefix+"project_id", f.ProjectID)
	if f.Type != "" {
		b.Eq(prefix+"image_type", string(f.Type))
	}
	if f.EnterpriseProjects != nil {
		b.In(prefix+"enterprise_project_id", f.EnterpriseProjects)
	}
	return b
}

// Arg binds v and returns its placeholder.
func (b *builder) Arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

// Where adds a condition written out in full (its arguments bound with Arg).
func (b *builder) Where(cond string) {
	b.conds = append(b.conds, cond)
}

// Op adds "col op v": Op("i.image_size", "<=", n).
func (b *builder) Op(col, op string, v any) {
	b.Where(col + " " + op + " " + b.Arg(v))
}

// Eq adds "col = v".
func (b *builder) Eq(col string, v any) {
	b.Op(col, "=", v)
}

// Contains adds that col contains sub, literally and case-sensitively.
func (b *builder) Contains(col, sub string) {
	b.Where(b.d.contains() + "(" + col + ", " + b.Arg(sub) + ") > 0")
}

// In adds that col is one of vs (at least one): an equality for one value,
// which an index walks in order; otherwise "IN (?, …)" in SQLite and
// "= ANY($n::text[])" in PostgreSQL.
func (b *builder) In(col string, vs []string) { inSet(b, col, vs, "text") }

// InInts is In for integer columns ("= ANY($n::int8[])" in PostgreSQL).
func (b *builder) InInts(col string, vs []int64) { inSet(b, col, vs, "int8") }

func inSet[T any](b *builder, col string, vs []T, pgType string) {
	switch {
	case len(vs) == 1:
		b.Eq(col, vs[0])
	case b.d == Postgres:
		b.Where(col + " = ANY(" + b.Arg(vs) + "::" + pgType + "[])")
	default:
		marks := make([]string, len(vs))
		for i, v := range vs {
			marks[i] = b.Arg(v)
		}
		b.Where(col + " IN (" + strings.Join(marks, ", ") + ")")
	}
}

// Len is how many conditions have been added.
func (b *builder) Len() int { return len(b.conds) }

// SQL is the conditions joined by AND.
func (b *builder) SQL() string { return strings.Join(b.conds, " AND ") }

// Args are the arguments bound, in placeholder order.
func (b *builder) Args() []any { return b.args }

// List binds vs and returns their placeholders, separated by ", ".
func (b *builder) List(vs ...any) string {
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = b.Arg(v)
	}
	return strings.Join(marks, ", ")
}

// col is one column of rows bound in bulk (see builder.Rows): its
// PostgreSQL type ("text", "int8", "bool", "bytea") and its values, a slice
// ([]string, []int64, …) as long as every other column's.
type col struct {
	Type   string
	Values any
}

// Rows binds the columns cols (at least one row) and returns a row source
// for INSERT ... or IN (...): "SELECT * FROM unnest($1::text[], …)" in
// PostgreSQL, one argument per column whatever the row count, so the text
// stays the same; "VALUES (?, ?), …" in SQLite, at most MaxRows rows.
func (b *builder) Rows(cols ...col) string {
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
