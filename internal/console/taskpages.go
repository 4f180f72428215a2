package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskquery"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// maxTaskItems is how many items (failed images, a sync task's
// connections) a task's page lists at a time.
const maxTaskItems = 100

// tasksView is the Tasks page's data: one type's list, as the API's task
// list answers the same query.
type tasksView struct {
	Query      url.Values // the normalized query, as the form shows it
	APIQuery   string     // the same query for GET .../image/tasks
	Error      string
	Scan       bool // image_scan, else image_sync
	Total      int64
	From, To   int
	Prev, Next string
	Rows       []tasks.Task
	Dates      map[string]string // the date fields' values (YYYY-MM-DD), from the query's times
	ScanScopes []scopeOption     // the scan-scope select's options
}

// scopeOption is an option of the Tasks form's scan-scope select.
type scopeOption struct {
	Value, Label string
	Selected     bool
}

// scanScopeOptions are the scan-scope select's options: the scan_scope
// values taskquery names, and the query's own value when it names
// another one that taskquery accepts, so that the form shows (and
// submits again) what the URL holds.
func scanScopeOptions(given string) []scopeOption {
	out := make([]scopeOption, 0, len(taskquery.ScanScopes)+1)
	found := given == ""
	for _, sc := range taskquery.ScanScopes {
		v := strconv.FormatInt(int64(sc.Value), 10)
		out = append(out, scopeOption{Value: v, Label: fmt.Sprintf("%s (0x%08x)", sc.Label, sc.Value), Selected: v == given})
		found = found || v == given
	}
	if n, ok := imagequery.ParseInteger(given, 0, taskquery.MaxScanScope); !found && ok {
		out = append(out, scopeOption{Value: given, Label: fmt.Sprintf("0x%08x", n), Selected: true})
	}
	return out
}

// registryTypeOptions are the options of a sync task's registry-type
// select: each type, and the query's own value when it names several
// types (the API's comma-separated list), so that the form shows (and
// submits again) what the URL holds.
func registryTypeOptions(given string) []scopeOption {
	out := make([]scopeOption, 0, len(registryTypes)+1)
	found := given == ""
	for _, rt := range registryTypes {
		out = append(out, scopeOption{Value: string(rt), Label: string(rt), Selected: string(rt) == given})
		found = found || string(rt) == given
	}
	if _, perr := taskquery.RegistryTypes(given); !found && perr == nil {
		out = append(out, scopeOption{Value: given, Label: given, Selected: true})
	}
	return out
}

// taskListQuery is the Tasks page's query as the API's task list reads
// it: empty fields dropped (an empty field means "no condition"), type
// image_scan and the enterprise projects all_granted_eps unless given, and
// the form's dates (created_from, ended_by: YYYY-MM-DD, UTC) turned into
// the API's create_time (the day's first millisecond) and end_time (its
// last). The page and GET /v5/{project}/image/tasks with this query ask the
// store the same question (docs/console.md).
func taskListQuery(in url.Values) (url.Values, error) {
	q := formValues(in)
	if q.Get("type") == "" {
		q.Set("type", string(tasks.Scan))
	}
	if q.Get("enterprise_project_id") == "" {
		q.Set("enterprise_project_id", "all_granted_eps")
	}
	if perr := applyDates(q, taskDateFields); perr != nil {
		return q, perr
	}
	return q, nil
}

// taskDateFields are the Tasks form's date inputs.
var taskDateFields = []dateField{{"created_from", "create_time", false}, {"ended_by", "end_time", true}}

// tasks lists the project's scan or sync tasks, newest first, a page at a
// time, with the task list's filters: the query parsing (taskquery) and
// store call (ListTasks) of the API's GET /v5/{project_id}/image/tasks.
func (c *Console) tasks(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := taskListQuery(r.URL.Query())
	v := tasksView{Query: q, APIQuery: q.Encode(), Scan: q.Get("type") != string(tasks.Sync),
		Dates: formDates(q, taskDateFields), ScanScopes: scanScopeOptions(q.Get("scan_scope"))}
	refuse := func(msg string) {
		v.Error = msg
		c.render(w, r, http.StatusBadRequest, "tasks", s, map[string]any{"Title": "Tasks", "V": v})
	}
	if err != nil {
		refuse(err.Error())
		return
	}
	l, perr := taskquery.Parse(q)
	if perr != nil {
		refuse(perr.Error())
		return
	}
	// As the API: the enterprise project must be granted (tasks belong to
	// the project, not to an enterprise project).
	if _, err := s.principal.EnterpriseProjects(l.EnterpriseProject); err != nil {
		refuse("enterprise project: " + err.Error())
		return
	}
	f := l.Filter
	f.ProjectID = s.principal.ProjectID
	rows, total, err := c.opts.Store.ListTasks(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: list %s tasks: %w", f.Type, err))
		return
	}
	v.Total, v.Rows = total, rows
	if len(rows) > 0 {
		v.From, v.To = f.Offset+1, f.Offset+len(rows)
	}
	v.Prev, v.Next = pageLinks("/tasks", q, f.Offset, f.Limit, total)
	c.render(w, r, http.StatusOK, "tasks", s, map[string]any{"Title": "Tasks", "V": v})
}

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
	data := map[string]any{"Title": "Task " + t.Name, "Task": t, "Scan": t.Type == tasks.Scan}
	q := r.URL.Query()
	rq := &imagequery.Reader{V: q}
	offset := rq.Offset()
	// A scan task lists its failed images (the API's failed_images); a
	// sync task its connections, filtered as ListAssociateRegistries
	// filters them: registry_name (a substring), registry_type (a
	// comma-separated list, read by taskquery as the API reads it) and
	// sync_status (failed includes those cancelled with the task).
	f := tasks.ItemFilter{ProjectID: s.principal.ProjectID, TaskID: t.ID, States: []string{tasks.ItemFailed}, Offset: offset,
		Limit: maxTaskItems}
	keep := url.Values{}
	if t.Type == tasks.Sync {
		sq := taskquery.ReadSyncItems(rq)
		f.RegistryName, f.RegistryTypes, f.States = sq.Filter.RegistryName, sq.Filter.RegistryTypes, sq.Filter.States
		data["RegistryName"], data["SyncStatus"] = f.RegistryName, sq.Status
		data["TypeOptions"] = registryTypeOptions(sq.Types)
		for k, v := range map[string]string{"registry_name": f.RegistryName, "registry_type": sq.Types, "sync_status": sq.Status} {
			if v != "" {
				keep.Set(k, v)
			}
		}
	}
	if rq.Err != nil {
		data["Error"] = rq.Err.Error()
		c.render(w, r, http.StatusBadRequest, "task", s, data)
		return
	}
	items, total, err := c.opts.Store.ListTaskItems(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: items of task %s: %w", t.ID, err))
		return
	}
	data["Items"], data["ItemTotal"] = items, total
	if len(items) > 0 {
		data["From"], data["To"] = offset+1, offset+len(items)
	}
	data["Prev"], data["Next"] = pageLinks("/tasks/"+url.PathEscape(t.ID), keep, offset, maxTaskItems, total)
	c.render(w, r, http.StatusOK, "task", s, data)
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
		c.badRequest(w, r, s, "The task has already ended.")
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
