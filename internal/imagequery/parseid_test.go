package imagequery_test

import (
	"testing"

	"github.com/openhss/openhss/internal/imagequery"
)

// TestParseID: a row id is spelled one way, as this server hands it
// out: positive decimal digits, no sign, space or leading zero.
func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: refused
	}{
		{"1", 1},
		{"42", 42},
		{"9223372036854775807", 9223372036854775807},
		{"9223372036854775808", 0},
		{"", 0},
		{"0", 0},
		{"012", 0},
		{"+1", 0},
		{"-1", 0},
		{" 1", 0},
		{"1e3", 0},
		{"1 OR 1=1", 0},
	} {
		got, ok := imagequery.ParseID(tc.in)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("ParseID(%q) = %d, %v; want %d", tc.in, got, ok, tc.want)
		}
	}
}
