// Package sqlq holds what the SQLite and PostgreSQL stores share: the SQL
// they both speak, built in the dialect of each (the WHERE clauses of the
// image and registry connection lists, the image columns, the scan-result
// and local-image statements), and reading rows back. Domain rules (a
// sync's diff, shared-image status, local-image defaults) live in
// inventory, not here.
//
// The text built for a filter depends only on its shape (which fields are
// set, how many values a set holds), never on the values, which are always
// arguments: the SQLite store caches prepared statements by their text, and
// pgx caches them the same way.
package sqlq

import (
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
)

// Dialect is what differs between the SQL the two stores speak.
type Dialect uint8

const (
	// SQLite: ? placeholders, instr(), booleans stored as 0 and 1, and sets
	// as IN lists of one argument each.
	SQLite Dialect = iota + 1
	// Postgres: $n placeholders, strpos(), boolean columns, and sets as one
	// text[] argument, so a set of any size is one statement text.
	Postgres
)

// Placeholder is the marker of the nth argument (counted from 1).
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// IsTrue is the condition that boolean column col holds. It is a literal,
// not an argument, because a partial index's WHERE must match the query's
// for the planner to use it.
func (d Dialect) IsTrue(col string) string {
	if d == Postgres {
		return col
	}
	return col + " = 1"
}

// StringsFromJSON is the SQL storing a JSON array of strings, the text
// bound at arg, in a column holding a set of strings: the JSON text itself
// in SQLite, a text[] in PostgreSQL.
func (d Dialect) StringsFromJSON(arg string) string {
	if d == Postgres {
		return "ARRAY(SELECT json_array_elements_text(CAST(" + arg + " AS json)))"
	}
	return arg
}

// StringsToJSON is the SQL reading a column written by StringsFromJSON
// back as JSON array text, so that both engines scan one string.
func (d Dialect) StringsToJSON(col string) string {
	if d == Postgres {
		return "array_to_json(" + col + ")::text"
	}
	return col
}

// contains is the function finding a substring: both are literal and
// case-sensitive, where LIKE would treat % and _ specially (and is
// case-insensitive in SQLite).
func (d Dialect) contains() string {
	if d == Postgres {
		return "strpos"
	}
	return "instr"
}

// Builder accumulates conditions, joined by AND, and their arguments, in
// the order they are added.
type Builder struct {
	d     Dialect
	conds []string
	args  []any
}

// New returns a builder in dialect d whose first arguments are args (those
// of a clause built before, which the new conditions extend).
func New(d Dialect, args ...any) *Builder {
	// Room for a list filter's usual conditions without regrowing.
	b := &Builder{d: d, conds: make([]string, 0, 8), args: make([]any, len(args), len(args)+8)}
	copy(b.args, args)
	return b
}

// Arg binds v and returns its placeholder.
func (b *Builder) Arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

// Where adds a condition written out in full (its arguments bound with Arg).
func (b *Builder) Where(cond string) {
	b.conds = append(b.conds, cond)
}

// Op adds "col op v": Op("i.image_size", "<=", n).
func (b *Builder) Op(col, op string, v any) {
	b.Where(col + " " + op + " " + b.Arg(v))
}

// Eq adds "col = v".
func (b *Builder) Eq(col string, v any) {
	b.Op(col, "=", v)
}

// Contains adds that col contains sub, literally and case-sensitively.
func (b *Builder) Contains(col, sub string) {
	b.Where(b.d.contains() + "(" + col + ", " + b.Arg(sub) + ") > 0")
}

// In adds that col is one of vs (at least one): an equality for one value,
// which an index walks in order; otherwise "IN (?, …)" in SQLite and
// "= ANY($n::text[])" in PostgreSQL.
func (b *Builder) In(col string, vs []string) {
	switch {
	case len(vs) == 1:
		b.Eq(col, vs[0])
	case b.d == Postgres:
		b.Where(col + " = ANY(" + b.Arg(vs) + "::text[])")
	default:
		marks := make([]string, len(vs))
		for i, v := range vs {
			marks[i] = b.Arg(v)
		}
		b.Where(col + " IN (" + strings.Join(marks, ", ") + ")")
	}
}

// InInts is In for integer columns: "IN (?, …)" in SQLite, "= ANY($n::int8[])"
// in PostgreSQL.
func (b *Builder) InInts(col string, vs []int64) {
	switch {
	case len(vs) == 1:
		b.Eq(col, vs[0])
	case b.d == Postgres:
		b.Where(col + " = ANY(" + b.Arg(vs) + "::int8[])")
	default:
		marks := make([]string, len(vs))
		for i, v := range vs {
			marks[i] = b.Arg(v)
		}
		b.Where(col + " IN (" + strings.Join(marks, ", ") + ")")
	}
}

// Len is how many conditions have been added.
func (b *Builder) Len() int { return len(b.conds) }

// SQL is the conditions joined by AND.
func (b *Builder) SQL() string { return strings.Join(b.conds, " AND ") }

// Args are the arguments bound, in placeholder order.
func (b *Builder) Args() []any { return b.args }

// Rows is what pgx.Rows and *sql.Rows have in common for reading.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect reads every row left in rows with scan; the caller closes rows.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// HashMatchesQuery lists the stored file hashes a stored signature names;
// ScanHashMatch reads its rows.
const HashMatchesQuery = `SELECT h.digest, h.path, h.sha256, h.size, h.layer_digest, m.name, m.source, m.imported_at
		FROM file_hashes h JOIN malware_signatures m ON m.sha256 = h.sha256 ORDER BY h.digest, h.path`

// ScanHashMatch reads a row of HashMatchesQuery.
func ScanHashMatch(row Scanner) (scanresult.HashMatch, error) {
	var m scanresult.HashMatch
	err := row.Scan(&m.Digest, &m.File.Path, &m.File.SHA256, &m.File.Size, &m.File.LayerDigest,
		&m.Signature.Name, &m.Signature.Source, &m.Signature.ImportedAt)
	m.Signature.SHA256 = m.File.SHA256
	return m, err
}
