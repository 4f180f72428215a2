package scanresult

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLayersHistory(t *testing.T) {
	long := strings.Repeat("é", MaxCreatedBy) // 2 bytes a rune: cut inside one
	for _, tc := range []struct {
		name  string
		sizes []int64
		hist  []HistoryEntry
		want  []LayerHistory
	}{
		{"empty layers skipped", []int64{10, 20}, []HistoryEntry{{CreatedBy: "ADD a"}, {CreatedBy: "ENV X=1", EmptyLayer: true},
			{CreatedBy: "RUN b"}}, []LayerHistory{{10, "ADD a"}, {20, "RUN b"}}},
		{"no history", []int64{10}, nil, []LayerHistory{{Size: 10}}},
		{"fewer steps than layers", []int64{10, 20}, []HistoryEntry{{CreatedBy: "ADD a"}}, []LayerHistory{{Size: 10}, {Size: 20}}},
		{"more steps than layers", []int64{10}, []HistoryEntry{{CreatedBy: "ADD a"}, {CreatedBy: "RUN b"}}, []LayerHistory{{Size: 10}}},
		{"no layers", []int64{}, []HistoryEntry{{CreatedBy: "ENV X=1", EmptyLayer: true}}, []LayerHistory{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LayersHistory(tc.sizes, tc.hist); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("LayersHistory = %+v, want %+v", got, tc.want)
			}
		})
	}
	got := LayersHistory([]int64{1}, []HistoryEntry{{CreatedBy: long}})[0].CreatedBy
	if len(got) > MaxCreatedBy || !utf8.ValidString(got) || !strings.HasSuffix(got, "é…") {
		t.Fatalf("a long step is %d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-8:])
	}
}

func TestClassOfSeverity(t *testing.T) {
	for label, want := range map[string]string{"CRITICAL": ClassCritical, "High": ClassHigh, "important": ClassHigh,
		"moderate": ClassMedium, "negligible": ClassLow, "": ClassUnknown, "unknown": ClassUnknown, "weird": ClassUnknown,
		"medium*": ClassMedium, " Low ": ClassLow, "none": ClassLow, "*": ClassUnknown, "high**": ClassUnknown} {
		if got := ClassOfSeverity(label); got != want {
			t.Errorf("ClassOfSeverity(%q) = %q, want %q", label, got, want)
		}
		// A store filters by SeverityLabels: the label must be in its
		// class's list (up to case) and in no other.
		for _, c := range SeverityClasses {
			labels, unknown := SeverityLabels(c)
			in := slices.Contains(labels, strings.ToLower(label)) != unknown
			if label != strings.TrimSpace(label) {
				continue // a store compares the label as stored
			}
			if in != (c == want) {
				t.Errorf("SeverityLabels(%q) holds %q: %v, want %v", c, label, in, c == want)
			}
		}
	}
}
