// Package crash holds the kill -9 tests: the real `openhss serve` and
// `openhss db import` binaries are killed at known points of their work, on
// SQLite and on PostgreSQL, restarted, and the data must come out whole: no
// lost rows, no job or registry connection stuck, no scan left waiting, no
// scratch left behind, an import log that agrees with the records. It has no
// code of its own; see crash_test.go and import_test.go.
package crash
