package postgres

import (
	"testing"

	"github.com/openhss/openhss/internal/tasks/taskstest"
)

func TestTaskStore(t *testing.T) {
	testDSN(t)
	taskstest.Run(t, func(t *testing.T) taskstest.Store {
		return open(t, newSchema(t))
	})
}
