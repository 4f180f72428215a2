package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/openhss/openhss/internal/tasks/taskstest"
)

func TestTaskStore(t *testing.T) {
	taskstest.Run(t, func(t *testing.T) taskstest.Store {
		return open(t, filepath.Join(t.TempDir(), "openhss.db"))
	})
}
