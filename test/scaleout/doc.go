// Package scaleout holds the end-to-end test of the scale-out mode: several
// `openhss serve` processes on one PostgreSQL database behave as one
// service. It has no code of its own; see scaleout_test.go.
package scaleout
