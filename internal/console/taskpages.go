package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/iam"
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
	Query    url.Values // the normalized query, as the form shows it
	APIQuery string     // the same query for GET .../image/tasks
	Error    string
	Scan     bool // image_scan, else image_sync
	pager
	Rows       []tasks.Task
	Dates      map[string]string // the date fields' values (YYYY-MM-DD), from the query's times
	ScanScopes []option          // the scan-scope select's options
}

// option is an option of a list form's select.
type option struct {
	Value, Label string
	Selected     bool
}

// selectOptions are a select's options: each of named, selected when it
// is the query's value given, and given as an option of its own (labelled
// other(given)) when it is none of them but a value the API accepts (ok),
// so that the form shows (and submits again) what the URL holds.
func selectOptions(given string, named []option, other func(string) (label string, ok bool)) []option {
	out := make([]option, 0, len(named)+1)
	found := given == ""
	for _, o := range named {
		o.Selected = o.Value == given
		found = found || o.Selected
		out = append(out, o)
	}
	if label, ok := other(given); !found && ok {
		out = append(out, option{Value: given, Label: label, Selected: true})
	}
	return out
}

// scanScopeOptions are the scan-scope select's options: the scan_scope
// values taskquery names, and another one that taskquery accepts.
func scanScopeOptions(given string) []option {
	named := make([]option, 0, len(taskquery.ScanScopes))
	for _, sc := range taskquery.ScanScopes {
		named = append(named, option{Value: strconv.FormatInt(int64(sc.Value), 10), Label: fmt.Sprintf("%s (0x%08x)", sc.Label, sc.Value)})
	}
	return selectOptions(given, named, func(v string) (string, bool) {
		n, ok := imagequery.ParseInteger(v, 0, taskquery.MaxScanScope)
		return fmt.Sprintf("0x%08x", n), ok
	})
}

// registryTypeOptions are the options of a sync task's registry-type
// select: each type, and several (the API's comma-separated list).
func registryTypeOptions(given string) []option {
	named := make([]option, 0, len(registryTypes))
	for _, rt := range registryTypes {
		named = append(named, option{Value: string(rt), Label: string(rt)})
	}
	return selectOptions(given, named, func(v string) (string, bool) {
		_, perr := taskquery.RegistryTypes(v)
		return v, perr == nil
	})
}

// tasksList is the Tasks page's query as the API's task list (GET
// /v5/{project}/image/tasks) reads it: type image_scan and every granted
// enterprise project unless given, the form's dates (created_from,
// ended_by) the API's create_time and end_time.
var tasksList = listSpec{
	dates:    []dateField{{"created_from", "create_time", false}, {"ended_by", "end_time", true}},
	defaults: map[string]string{"type": string(tasks.Scan), "enterprise_project_id": iam.AllGrantedEPs},
}

// tasks lists the project's scan or sync tasks, newest first, a page at a
// time, with the task list's filters: the query parsing (taskquery) and
// store call (ListTasks) of the API's GET /v5/{project_id}/image/tasks.
func (c *Console) tasks(w http.ResponseWriter, r *http.Request, s *session) {
	q, perr := tasksList.query(r.URL.Query())
	v := tasksView{Query: q, APIQuery: q.Encode(), Scan: q.Get("type") != string(tasks.Sync),
		Dates: formDates(q, tasksList.dates), ScanScopes: scanScopeOptions(q.Get("scan_scope"))}
	refuse := func(msg string) {
		v.Error = msg
		c.render(w, r, http.StatusBadRequest, "tasks", s, map[string]any{"Title": "Tasks", "V": v})
	}
	if perr != nil {
		refuse(perr.Error())
		return
	}
	l, perr := taskquery.Parse(q)
	if perr != nil {
		refuse(perr.Error())
		return
	}
	// As the API: the enterprise project must be granted (tasks belong to
	// the project, not to an enterprise project).
	if _, msg := s.listScope(l.EnterpriseProject); msg != "" {
		refuse(msg)
		return
	}
	f := l.Filter
	f.ProjectID = s.principal.ProjectID
	rows, total, err := c.opts.Store.ListTasks(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: list %s tasks: %w", f.Type, err))
		return
	}
	v.Rows, v.pager = rows, newPager("/tasks", q, f.Offset, f.Limit, len(rows), total)
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
	if !c.found(w, r, s, "Task", ok, err) {
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
	p := newPager("/tasks/"+url.PathEscape(t.ID), keep, offset, maxTaskItems, len(items), total)
	data["Items"], data["Pager"] = items, p
	c.render(w, r, http.StatusOK, "task", s, data)
}

// stopTask stops a running scan task through StopImageScanTask's path
// (taskrun.StopScanTask): the task ends as stopped, its pending items are
// cancelled with the scans no other running task waits for.
func (c *Console) stopTask(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok, err := c.taskOf(r, s)
	if !c.found(w, r, s, "Scan task", ok && t.Type == tasks.Scan, err) {
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
