package tasks_test

import (
	"context"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/tasks"
)

// noTimeOuts is a TimeOutStore with nothing to time out: the constructor
// under test never calls it.
type noTimeOuts struct{}

func (noTimeOuts) TimeOutTasks(context.Context, int64, int64) ([]tasks.Expired, error) {
	return nil, nil
}

func TestNewTimeoutsNeedsItsParts(t *testing.T) {
	cancel := func(context.Context, string, []string) ([]string, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		o    tasks.TimeoutOptions
		ok   bool
	}{
		{"complete", tasks.TimeoutOptions{Store: noTimeOuts{}, CancelScans: cancel, Timeout: time.Hour}, true},
		{"no store", tasks.TimeoutOptions{CancelScans: cancel, Timeout: time.Hour}, false},
		{"no cancel", tasks.TimeoutOptions{Store: noTimeOuts{}, Timeout: time.Hour}, false},
		{"no timeout", tasks.TimeoutOptions{Store: noTimeOuts{}, CancelScans: cancel}, false},
		{"negative timeout", tasks.TimeoutOptions{Store: noTimeOuts{}, CancelScans: cancel, Timeout: -time.Hour}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tasks.NewTimeouts(tc.o)
			if (err == nil) != tc.ok {
				t.Fatalf("NewTimeouts: %v; want ok=%v", err, tc.ok)
			}
		})
	}
}
