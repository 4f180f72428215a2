package main

import (
	"strings"
	"testing"
)

// TestSyncCapFlagsRefuseNonPositive: a cap of 0 or less is refused before
// anything is opened, with the flag's name.
func TestSyncCapFlagsRefuseNonPositive(t *testing.T) {
	for _, flag := range []string{"--sync-max-repositories", "--sync-max-tags", "--sync-max-total-tags", "--sync-max-response-size"} {
		_, err := run(t, "", "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", flag, "0")
		if err == nil || !strings.Contains(err.Error(), flag) || !strings.Contains(err.Error(), "positive") {
			t.Errorf("%s 0: err = %v", flag, err)
		}
	}
}
