package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
)

const taskCols = `id, project_id, type, task_type, name, image_type, state, listing, scan_scope, rate_limit, is_all,
	total_num, success_num, failed_num, risky_num, begin_time, end_time, failed_reason`

const itemCols = `task_id, ref_id, digest, registry_id, registry_name, registry_type, namespace, image_name, image_version,
	state, risky, failed_reason, finished_at`

func scanTask(r rowScanner) (tasks.Task, error) {
	var t tasks.Task
	err := r.Scan(&t.ID, &t.ProjectID, &t.Type, &t.Kind, &t.Name, &t.ImageType, &t.State, &t.Listing, &t.ScanScope,
		&t.RateLimit, &t.IsAll, &t.TotalNum, &t.SuccessNum, &t.FailedNum, &t.RiskyNum, &t.BeginTime, &t.EndTime,
		&t.FailedReason)
	return t, err
}

func scanItem(r rowScanner) (tasks.Item, error) {
	var it tasks.Item
	err := r.Scan(&it.TaskID, &it.RefID, &it.Digest, &it.RegistryID, &it.RegistryName, &it.RegistryType, &it.Namespace,
		&it.ImageName, &it.ImageVersion, &it.State, &it.Risky, &it.FailedReason, &it.FinishedAt)
	return it, err
}

// CreateTask stores t (a new random id when t.ID is empty) and its items,
// pending, in one transaction; with no items and not listing, the task
// is finished at once.
func (s *Store) CreateTask(ctx context.Context, t tasks.Task, items []tasks.Item) (tasks.Task, error) {
	if !t.Type.Valid() || !t.Kind.ValidFor(t.Type) {
		return tasks.Task{}, s.errf("create task: type %q with task_type %q", t.Type, t.Kind)
	}
	if t.ID == "" {
		t.ID = rand.Text()
	}
	t.State, t.EndTime, t.FailedReason = tasks.Running, 0, ""
	t.TotalNum, t.SuccessNum, t.FailedNum, t.RiskyNum = 0, 0, 0, 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (`+taskCols+`, seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, 0, 0, $12, 0, '',
			(SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks))`,
			t.ID, t.ProjectID, string(t.Type), string(t.Kind), s.text(t.Name), t.ImageType, string(t.State), t.Listing,
			t.ScanScope, t.RateLimit, t.IsAll, t.BeginTime); err != nil {
			return s.errf("create task: %w", err)
		}
		if err := s.addItems(ctx, tx, t.ID, items); err != nil {
			return err
		}
		return s.recount(ctx, tx, t.ID, t.BeginTime)
	})
	if err != nil {
		return tasks.Task{}, err
	}
	return s.GetTask(ctx, t.ProjectID, t.ID)
}

// addItems inserts items pending after the task's last one; an item the
// task has is kept as it is (a job listing again after an interruption).
func (s *Store) addItems(ctx context.Context, tx *sql.Tx, taskID string, items []tasks.Item) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM task_items WHERE task_id = $1`, taskID).
		Scan(&seq); err != nil {
		return s.errf("items of task %s: %w", taskID, err)
	}
	for _, it := range items {
		seq++
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_items (task_id, ref_id, seq, digest, registry_id,
			registry_name, registry_type, namespace, image_name, image_version, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending') ON CONFLICT (task_id, ref_id) DO NOTHING`,
			taskID, it.RefID, seq, it.Digest, it.RegistryID, s.text(it.RegistryName), it.RegistryType,
			s.text(it.Namespace), s.text(it.ImageName), s.text(it.ImageVersion)); err != nil {
			return s.errf("add item %d to task %s: %w", it.RefID, taskID, err)
		}
	}
	return nil
}

// recount sets a task's counts from its items, and finishes a running task
// that lists no more and has nothing pending, at time at.
func (s *Store) recount(ctx context.Context, tx *sql.Tx, taskID string, at int64) error {
	done := `(state = 'running' AND NOT (` + s.d.IsTrue("listing") + `) AND NOT EXISTS
		(SELECT 1 FROM task_items i WHERE i.task_id = tasks.id AND i.state = 'pending'))`
	_, err := tx.ExecContext(ctx, `UPDATE tasks SET
		total_num = (SELECT COUNT(*) FROM task_items i WHERE i.task_id = tasks.id),
		success_num = (SELECT COUNT(*) FROM task_items i WHERE i.task_id = tasks.id AND i.state = 'success'),
		failed_num = (SELECT COUNT(*) FROM task_items i WHERE i.task_id = tasks.id AND i.state = 'failed'),
		risky_num = (SELECT COUNT(*) FROM task_items i WHERE i.task_id = tasks.id AND `+s.d.IsTrue("i.risky")+`),
		end_time = CASE WHEN `+done+` THEN $2 ELSE end_time END,
		state = CASE WHEN `+done+` THEN 'finished' ELSE state END
		WHERE id = $1`, taskID, at)
	return s.wrap(err, "count items of task "+taskID)
}

// AddTaskItems adds items to a running task of the project; last ends its
// listing (and finishes it when nothing is pending). A task that ended
// takes no items: ErrEnded.
func (s *Store) AddTaskItems(ctx context.Context, projectID, taskID string, items []tasks.Item, last bool, at int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRunningTask(ctx, tx, projectID, taskID); err != nil {
			return err
		}
		if err := s.addItems(ctx, tx, taskID, items); err != nil {
			return err
		}
		if last {
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET listing = $2 WHERE id = $1`, taskID, false); err != nil {
				return s.errf("task %s: %w", taskID, err)
			}
		}
		return s.recount(ctx, tx, taskID, at)
	})
}

// GetTask returns a task of the project.
func (s *Store) GetTask(ctx context.Context, projectID, id string) (tasks.Task, error) {
	t, err := scanTask(s.read.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE project_id = $1 AND id = $2`,
		projectID, id))
	if err != nil {
		return tasks.Task{}, s.taskErr(id, err)
	}
	return t, nil
}

// lockRunningTask locks a task of the project for the rest of tx:
// ErrNotFound when it is not the project's, ErrEnded when it ended.
func (s *Store) lockRunningTask(ctx context.Context, tx *sql.Tx, projectID, id string) error {
	t, err := scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE project_id = $1 AND id = $2`+
		s.d.forUpdate(), projectID, id))
	switch {
	case err != nil:
		return s.taskErr(id, err)
	case t.Ended():
		return s.errf("task %s: %w", id, tasks.ErrEnded)
	}
	return nil
}

// taskErr is err of reading task id, sql.ErrNoRows mapped to
// tasks.ErrNotFound.
func (s *Store) taskErr(id string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = tasks.ErrNotFound
	}
	return s.errf("task %s: %w", id, err)
}

// pendingItems reads a task's pending items in the order they were added.
func (s *Store) pendingItems(ctx context.Context, tx *sql.Tx, id string) ([]tasks.Item, error) {
	return readAll(ctx, s, tx, "items of task "+id, scanItem, `SELECT `+itemCols+` FROM task_items WHERE task_id = $1 AND state = 'pending'
		ORDER BY seq`, id)
}

// ListTasks returns one page of the tasks f selects, newest first.
func (s *Store) ListTasks(ctx context.Context, f tasks.Filter) ([]tasks.Task, int64, error) {
	b := newBuilder(s.d)
	b.Eq("project_id", f.ProjectID)
	b.Eq("type", string(f.Type))
	if f.Kind != "" {
		b.Eq("task_type", string(f.Kind))
	}
	if f.ImageType != "" {
		b.Eq("image_type", f.ImageType)
	}
	if f.TaskID != "" {
		b.Eq("id", f.TaskID)
	}
	if f.Name != "" {
		b.Contains("name", f.Name)
	}
	if f.Ended != nil {
		if *f.Ended {
			b.Where(`state <> 'running'`)
		} else {
			b.Where(`state = 'running'`)
		}
	}
	if f.ScanScope != nil {
		b.Eq("scan_scope", *f.ScanScope)
	}
	if f.CreatedFrom > 0 {
		b.Op("begin_time", ">=", f.CreatedFrom)
	}
	if f.EndedBy > 0 {
		b.Where(`end_time > 0`)
		b.Op("end_time", "<=", f.EndedBy)
	}
	total, out, err := pageOf(ctx, s, "list tasks", b, taskCols, `FROM tasks WHERE `+b.SQL(),
		"begin_time DESC, seq DESC, id DESC", f.Offset, f.Limit, scanTask)
	return out, total, err
}

// ListTaskItems returns one page of a task's items in the order they were
// added; ErrNotFound when the task is not the project's.
func (s *Store) ListTaskItems(ctx context.Context, f tasks.ItemFilter) ([]tasks.Item, int64, error) {
	if _, err := s.GetTask(ctx, f.ProjectID, f.TaskID); err != nil {
		return nil, 0, err
	}
	b := newBuilder(s.d)
	b.Eq("task_id", f.TaskID)
	if f.RegistryName != "" {
		b.Contains("registry_name", f.RegistryName)
	}
	if len(f.RegistryTypes) > 0 {
		b.In("registry_type", f.RegistryTypes)
	}
	if len(f.States) > 0 {
		b.In("state", f.States)
	}
	total, out, err := pageOf(ctx, s, "items of task "+f.TaskID, b, itemCols, `FROM task_items WHERE `+b.SQL(), "seq",
		f.Offset, f.Limit, scanItem)
	return out, total, err
}

// FinishTaskItems marks the pending items f names on the project's running
// tasks of f.Type. The tasks are locked first (in id order), so that the
// recount of each sees every item another writer ended before it; a scan
// item's risk is read from its image row, which the scan recorded first.
func (s *Store) FinishTaskItems(ctx context.Context, f tasks.Finish) (int64, error) {
	// match adds the items f names to b (SQLite's arguments are
	// positional: every builder is written in the order of its text).
	match := func(b *builder) {
		if f.Type == tasks.Sync {
			b.Eq("i.ref_id", f.RefID)
		} else {
			b.Eq("i.digest", f.Digest)
		}
		b.Where(`i.state = 'pending'`)
	}
	risky := `false`
	if f.OK {
		risky = `COALESCE((SELECT vul_num + unsafe_setting_num + malicious_file_num > 0 FROM images
			WHERE images.id = i.ref_id), false)`
	}
	state := tasks.ItemFailed
	if f.OK {
		state = tasks.ItemSuccess
	}
	var marked int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		marked = 0
		w := newBuilder(s.d)
		w.Eq("t.project_id", f.ProjectID)
		w.Eq("t.type", string(f.Type))
		w.Where(`t.state = 'running'`)
		if f.Missing != 0 {
			// Both engines' & is the bitwise and of integers.
			w.Where(`(t.scan_scope & ` + w.Arg(f.Missing) + `) = 0`)
		}
		m := newBuilder(s.d, w.Args()...)
		match(m)
		ids, err := queryAll(ctx, tx, scanString, `SELECT t.id FROM tasks t WHERE `+w.SQL()+` AND EXISTS
			(SELECT 1 FROM task_items i WHERE i.task_id = t.id AND `+m.SQL()+`) ORDER BY t.id`+s.d.forUpdate(),
			m.Args()...)
		if err != nil {
			return s.errf("tasks to finish: %w", err)
		}
		for _, id := range ids {
			u := newBuilder(s.d)
			set := `UPDATE task_items AS i SET state = ` + u.Arg(state) + `, failed_reason = ` + u.Arg(s.text(f.Reason)) +
				`, finished_at = ` + u.Arg(f.At) + `, risky = ` + risky
			match(u)
			u.Eq("i.task_id", id)
			n, err := execCount(ctx, tx, set+` WHERE `+u.SQL(), u.Args()...)
			if err != nil {
				return s.errf("finish items of task %s: %w", id, err)
			}
			marked += n
			if err := s.recount(ctx, tx, id, f.At); err != nil {
				return err
			}
		}
		return nil
	})
	return marked, err
}

// EndTask stops (or fails) a running task of the project, cancelling its
// pending items, and returns those items.
func (s *Store) EndTask(ctx context.Context, projectID, id string, st tasks.State, reason string, at int64) ([]tasks.Item, error) {
	if st != tasks.Stopped && st != tasks.Failed {
		return nil, s.errf("end task %s as %q", id, st)
	}
	var cancelled []tasks.Item
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRunningTask(ctx, tx, projectID, id); err != nil {
			return err
		}
		var err error
		if cancelled, err = s.pendingItems(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE task_items SET state = 'cancelled', finished_at = $2
			WHERE task_id = $1 AND state = 'pending'`, id, at); err != nil {
			return s.errf("cancel items of task %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = $2, failed_reason = $3, end_time = $4, listing = $5
			WHERE id = $1`, id, string(st), s.text(reason), at, false); err != nil {
			return s.errf("end task %s: %w", id, err)
		}
		return s.recount(ctx, tx, id, at)
	})
	if err != nil {
		return nil, err
	}
	return cancelled, nil
}

// WaitingScanScope ORs the scan_scope of the project's running scan tasks
// with a pending item of digest (SQLite has no bitwise aggregate: the
// distinct values are few).
func (s *Store) WaitingScanScope(ctx context.Context, projectID, digest string) (int32, bool, error) {
	scopes, err := queryAll(ctx, s.read, func(r rowScanner) (v int32, err error) { return v, r.Scan(&v) },
		`SELECT DISTINCT t.scan_scope FROM task_items i JOIN tasks t ON t.id = i.task_id
		WHERE i.digest = $1 AND i.state = 'pending' AND t.project_id = $2 AND t.type = 'image_scan' AND t.state = 'running'`,
		digest, projectID)
	if err != nil {
		return 0, false, s.errf("scan scope of %s: %w", digest, err)
	}
	var scope int32
	for _, v := range scopes {
		scope |= v
	}
	return scope, len(scopes) > 0, nil
}

// CancelTaskScans fails the queued and running scan jobs of the digests
// that no running scan task of the project waits for any more (after
// EndTask), in one transaction, and returns the digests it cancelled. A
// running job's worker finds its lease gone at its next heartbeat and
// stops (jobs.Runner).
func (s *Store) CancelTaskScans(ctx context.Context, projectID, kind string, digests []string, at int64) ([]string, error) {
	var cancelled []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cancelled = nil
		for _, d := range digests {
			var waited bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM task_items i JOIN tasks t ON t.id = i.task_id
				WHERE t.project_id = $1 AND t.type = 'image_scan' AND t.state = 'running'
				AND i.digest = $2 AND i.state = 'pending')`, projectID, d).Scan(&waited); err != nil {
				return s.errf("tasks waiting for %s: %w", d, err)
			}
			if waited {
				continue
			}
			n, err := execCount(ctx, tx, `UPDATE jobs SET state = 'failed', error = 'cancelled: its scan task was stopped',
				lease_till = 0, updated_at = $4 WHERE kind = $1 AND key = $2 AND state IN ('queued', 'running')
				AND project_id = $3`,
				kind, inventory.ScanJobKey(projectID, d), projectID, at)
			if err != nil {
				return s.errf("cancel scan of %s: %w", d, err)
			}
			if n > 0 {
				cancelled = append(cancelled, d)
			}
		}
		return nil
	})
	return cancelled, err
}

// timeOutBatch bounds the tasks one TimeOutTasks round reads.
const timeOutBatch = 100

// TimeOutTasks times out the running tasks begun before cutoff, one
// transaction each: the UPDATE guarded by state = 'running' is what makes
// a task time out once with several servers sweeping (on PostgreSQL the
// second waits for the first's row lock, then matches nothing). The
// candidates come from the partial index tasks_running.
func (s *Store) TimeOutTasks(ctx context.Context, cutoff, at int64) ([]tasks.Expired, error) {
	var out []tasks.Expired
	after := ""
	for {
		ids, err := queryAll(ctx, s.read, scanString, `SELECT id FROM tasks WHERE state = 'running' AND `+timeOutStart+` < $1
			AND id > $2 ORDER BY id LIMIT $3`, cutoff, after, timeOutBatch)
		if err != nil {
			return out, s.errf("tasks to time out: %w", err)
		}
		for _, id := range ids {
			e, ok, err := s.timeOut(ctx, id, cutoff, at)
			if err != nil {
				return out, err
			}
			if ok {
				out = append(out, e)
			}
		}
		if len(ids) < timeOutBatch {
			return out, nil
		}
		after = ids[len(ids)-1]
	}
}

// timeOutStart is when a task's timeout starts to run: its begin time,
// plus for a rate-limited task the time its spacing takes (total_num
// images at rate_limit an hour), so that keeping its rate never times it
// out (docs/api.md, Tasks).
const timeOutStart = `(begin_time + CASE WHEN rate_limit > 0 THEN total_num * 3600000 / rate_limit ELSE 0 END)`

// timeOut times out one task, unless it ended (or another server timed it
// out) since it was read.
func (s *Store) timeOut(ctx context.Context, id string, cutoff, at int64) (tasks.Expired, bool, error) {
	var e tasks.Expired
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		e, ok = tasks.Expired{}, false // a retried transaction starts over
		n, err := execCount(ctx, tx, `UPDATE tasks SET state = $2, failed_reason = $3, end_time = $4, listing = $5
			WHERE id = $1 AND state = 'running' AND `+timeOutStart+` < $6`,
			id, string(tasks.TimedOut), tasks.TimedOutReason, at, false, cutoff)
		if err != nil {
			return s.errf("time out task %s: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		if e.Items, err = s.pendingItems(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE task_items SET state = 'failed', failed_reason = $2, finished_at = $3
			WHERE task_id = $1 AND state = 'pending'`, id, tasks.TimedOutReason, at); err != nil {
			return s.errf("fail items of task %s: %w", id, err)
		}
		if err := s.recount(ctx, tx, id, at); err != nil {
			return err
		}
		if e.Task, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id)); err != nil {
			return s.errf("task %s: %w", id, err)
		}
		ok = true
		return nil
	})
	return e, ok, err
}
