package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// maxTaskItems is how many failed items a task's page lists.
const maxTaskItems = 100

// taskOf loads the path's task of the session's project; another
// project's task is not found.
func (c *Console) taskOf(r *http.Request, s *session) (tasks.Task, bool, error) {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/tasks/"), "/")
	t, err := c.opts.Store.GetTask(r.Context(), s.principal.ProjectID, id)
	if errors.Is(err, tasks.ErrNotFound) || errors.Is(err, inventory.ErrNotFound) {
		return tasks.Task{}, false, nil
	}
	if err != nil {
		return tasks.Task{}, false, fmt.Errorf("console: task %s: %w", id, err)
	}
	return t, true, nil
}

// task shows one task and its failed items with their reasons, as the
// API's task item lists read them.
func (c *Console) task(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok, err := c.taskOf(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !ok {
		c.notFound(w, r, s, "Task")
		return
	}
	items, total, err := c.opts.Store.ListTaskItems(r.Context(), tasks.ItemFilter{ProjectID: s.principal.ProjectID, TaskID: t.ID,
		States: []string{tasks.ItemFailed}, Limit: maxTaskItems})
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: items of task %s: %w", t.ID, err))
		return
	}
	c.render(w, r, http.StatusOK, "task", s, map[string]any{"Title": "Task " + t.Name, "Task": t, "Failed": items,
		"FailedTotal": total, "Max": maxTaskItems, "Scan": t.Type == tasks.Scan})
}

// stopTask stops a running scan task through StopImageScanTask's path
// (taskrun.StopScanTask): the task ends as stopped, its pending items are
// cancelled with the scans no other running task waits for.
func (c *Console) stopTask(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok, err := c.taskOf(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if !ok || t.Type != tasks.Scan {
		c.notFound(w, r, s, "Scan task")
		return
	}
	err = taskrun.StopScanTask(r.Context(), c.opts.Store, c.opts.Scans, s.principal.ProjectID, t.ID, "stopped in the web console",
		inventory.Millis(c.opts.Now()))
	switch {
	case errors.Is(err, tasks.ErrEnded):
		c.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Message": "The task has already ended."})
		return
	case errors.Is(err, tasks.ErrNotFound):
		c.notFound(w, r, s, "Scan task")
		return
	case err != nil:
		c.fail(w, r, s, fmt.Errorf("console: stop task %s: %w", t.ID, err))
		return
	}
	http.Redirect(w, r, "/tasks", http.StatusSeeOther)
}
