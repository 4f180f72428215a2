package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskquery"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// maxTaskItems is how many items (failed images, a sync task's
// connections) a task's page lists at a time.
const maxTaskItems = 100

// dateLayout is the value of an <input type="date">.
const dateLayout = "2006-01-02"

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
	// CreatedFrom and EndedBy are create_time and end_time as the
	// form's dates (UTC).
	CreatedFrom, EndedBy string
}

// taskListQuery is the Tasks page's query as the API's task list reads
// it: empty fields dropped (an empty field means "no condition"), type
// image_scan and the enterprise projects all_granted_eps unless given, and
// the form's dates (created_from, ended_by: YYYY-MM-DD, UTC) turned into
// the API's create_time (the day's first millisecond) and end_time (its
// last). The page and GET /v5/{project}/image/tasks with this query ask the
// store the same question (docs/console.md).
func taskListQuery(in url.Values) (url.Values, error) {
	q := url.Values{}
	for k, vs := range in {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	if q.Get("type") == "" {
		q.Set("type", string(tasks.Scan))
	}
	if q.Get("enterprise_project_id") == "" {
		q.Set("enterprise_project_id", "all_granted_eps")
	}
	for _, d := range []struct {
		field, param string
		end          bool
	}{{"created_from", "create_time", false}, {"ended_by", "end_time", true}} {
		vs, ok := q[d.field]
		if !ok {
			continue
		}
		q.Del(d.field)
		day, err := time.Parse(dateLayout, vs[0])
		if len(vs) != 1 || err != nil {
			return q, imagequery.Invalid(d.field, "must be one date (YYYY-MM-DD)")
		}
		if d.end {
			day = day.AddDate(0, 0, 1).Add(-time.Millisecond)
		}
		q.Set(d.param, strconv.FormatInt(day.UnixMilli(), 10))
	}
	return q, nil
}

// pageLinks are the previous and next pages of a list at offset, limit
// rows a page, total rows: path with q and the offset set ("" when none).
func pageLinks(path string, q url.Values, offset, limit int, total int64) (prev, next string) {
	at := func(o int) string {
		p := url.Values{}
		for k, vs := range q {
			p[k] = slices.Clone(vs)
		}
		p.Set("offset", strconv.Itoa(o))
		return path + "?" + p.Encode()
	}
	if offset > 0 {
		prev = at(max(0, offset-limit))
	}
	if int64(offset+limit) < total {
		next = at(offset + limit)
	}
	return prev, next
}

// msDate is a millisecond query parameter as a form's date (UTC).
func msDate(q url.Values, name string) string {
	ms, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(dateLayout)
}

// tasks lists the project's scan or sync tasks, newest first, a page at a
// time, with the task list's filters: the query parsing (taskquery) and
// store call (ListTasks) of the API's GET /v5/{project_id}/image/tasks.
func (c *Console) tasks(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := taskListQuery(r.URL.Query())
	v := tasksView{Query: q, APIQuery: q.Encode(), Scan: q.Get("type") != string(tasks.Sync),
		CreatedFrom: msDate(q, "create_time"), EndedBy: msDate(q, "end_time")}
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
	offset := 0
	if n := rq.Integer("offset", 0, imagequery.MaxOffset); n != nil {
		offset = int(*n)
	}
	// A scan task lists its failed images (the API's failed_images); a
	// sync task its connections, filtered by ListAssociateRegistries'
	// sync_status (failed includes those cancelled with the task).
	f := tasks.ItemFilter{ProjectID: s.principal.ProjectID, TaskID: t.ID, States: []string{tasks.ItemFailed}, Offset: offset,
		Limit: maxTaskItems}
	keep := url.Values{}
	if t.Type == tasks.Sync {
		status := rq.Text("sync_status", 16)
		data["SyncStatus"] = status
		f.States = nil
		if status != "" {
			states, ok := tasks.SyncStatusStates(status)
			if !ok && rq.Err == nil {
				rq.Err = imagequery.Invalid("sync_status", "must be finished, running or failed")
			}
			f.States = states
			keep.Set("sync_status", status)
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
