package hssapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/taskquery"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// TaskStore is what the task APIs need: the tasks themselves, and the
// connections a sync covers (docs/api.md, "Tasks").
type TaskStore interface {
	CreateTask(ctx context.Context, t tasks.Task, items []tasks.Item) (tasks.Task, error)
	GetTask(ctx context.Context, projectID, id string) (tasks.Task, error)
	ListTasks(ctx context.Context, f tasks.Filter) ([]tasks.Task, int64, error)
	ListTaskItems(ctx context.Context, f tasks.ItemFilter) ([]tasks.Item, int64, error)
	EndTask(ctx context.Context, projectID, id string, s tasks.State, reason string, at int64) ([]tasks.Item, error)
	RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error)
	// GetImage finds the rows CreateManualImageScanTask names by id.
	GetImage(ctx context.Context, projectID string, id int64) (inventory.Image, error)
}

// Bounds of the task APIs.
const (
	maxTaskIDLen      = 64  // task_id in a path, as the SDK documents it
	maxFailedImages   = 200 // failed_images per task in ListImageScanTask
	maxSyncRegistries = 200 // registry_info entries of CreateImageSynchronizeTask
	maxScanScope      = taskquery.MaxScanScope
)

// errTaskAbsent answers a task id that is not one of the project's (of the
// route's type): the same answer whether it exists elsewhere or not.
var errTaskAbsent = &apiError{http.StatusNotFound, codeNotFound, "task not found"}

// createSyncTaskBody is the SDK's CreateImageSynchronizeTaskRequestInfo.
type createSyncTaskBody struct {
	SyncAllRegistries *bool `json:"sync_all_registries"`
	RegistryInfo      []struct {
		RegistryID   string `json:"registry_id"`
		RegistryType string `json:"registry_type"`
	} `json:"registry_info"`
}

// createSyncTask is CreateImageSynchronizeTask: a manualSync task over the
// named connections (or all of them the caller sees). The sync jobs are
// per image type, so a connection not named but of a named one's image
// type is synced too; the task covers only the named ones.
func (s *server) createSyncTask(w http.ResponseWriter, r *http.Request, c *call) error {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return err
	}
	var b createSyncTaskBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	if b.SyncAllRegistries == nil {
		return invalidParam("sync_all_registries", "is required (true or false)")
	}
	ctx := r.Context()
	var regs []inventory.Registry
	if *b.SyncAllRegistries {
		for _, t := range taskrun.SyncImageTypes {
			all, err := s.cfg.Tasks.RegistriesByImageType(ctx, c.ProjectID, t)
			if err != nil {
				return fmt.Errorf("registries of project %s: %w", c.ProjectID, err)
			}
			for _, reg := range all {
				if eps == nil || containsString(eps, reg.EnterpriseProjectID) {
					regs = append(regs, reg)
				}
			}
		}
	} else {
		if len(b.RegistryInfo) == 0 {
			return invalidParam("registry_info", "must name at least one registry unless sync_all_registries is true")
		}
		if len(b.RegistryInfo) > maxSyncRegistries {
			return invalidParam("registry_info", "names %d registries, more than %d", len(b.RegistryInfo), maxSyncRegistries)
		}
		seen := map[int64]bool{}
		var missing []string
		for i, ri := range b.RegistryInfo {
			id, ok := imagequery.ParseID(ri.RegistryID)
			if !ok {
				return invalidParam(fmt.Sprintf("registry_info[%d].registry_id", i), "must be a registry id (a positive integer)")
			}
			if ri.RegistryType != "" && !inventory.RegistryType(ri.RegistryType).Valid() {
				return invalidParam(fmt.Sprintf("registry_info[%d].registry_type", i),
					"must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
			}
			if seen[id] {
				return invalidParam("registry_info", "registry %d is named twice", id)
			}
			seen[id] = true
			reg, err := s.cfg.Store.GetRegistry(ctx, c.ProjectID, id)
			if errors.Is(err, inventory.ErrNotFound) || (err == nil && eps != nil && !containsString(eps, reg.EnterpriseProjectID)) {
				missing = append(missing, ri.RegistryID)
				continue
			}
			if err != nil {
				return fmt.Errorf("registry %d: %w", id, err)
			}
			if ri.RegistryType != "" && ri.RegistryType != string(reg.Type) {
				return invalidParam(fmt.Sprintf("registry_info[%d].registry_type", i), "is %s, not %s", reg.Type, ri.RegistryType)
			}
			regs = append(regs, reg)
		}
		if len(missing) > 0 {
			return &apiError{http.StatusNotFound, codeNotFound, "registries not found: " + strings.Join(missing, ", ")}
		}
	}
	if _, err := s.starter.StartSync(ctx, tasks.Task{ProjectID: c.ProjectID, Kind: tasks.ManualSync}, regs); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// imageScanTaskInfo is the SDK's ImageScanTaskInfo.
type imageScanTaskInfo struct {
	TaskID       string            `json:"task_id"`
	PolicyID     string            `json:"policy_id"`
	TaskName     string            `json:"task_name"`
	BeginTime    int64             `json:"begin_time"`
	EndTime      int64             `json:"end_time"`
	RemainMin    int64             `json:"remain_min"`
	TaskType     string            `json:"task_type"`
	ImageType    string            `json:"image_type"`
	TaskStatus   int32             `json:"task_status"`
	ScanScope    int32             `json:"scan_scope"`
	RateLimit    int32             `json:"rate_limit"`
	IsAll        bool              `json:"is_all"`
	FailedNum    int32             `json:"failed_num"`
	SuccessNum   int32             `json:"success_num"`
	TotalNum     int32             `json:"total_num"`
	RiskyNum     int32             `json:"risky_num"`
	SyncTaskType string            `json:"sync_task_type"`
	FailedReason string            `json:"failed_reason"`
	FailedImages []taskFailedImage `json:"failed_images"`
}

// taskFailedImage is the SDK's ImageScanTaskFailedImage (id is the image
// row's id).
type taskFailedImage struct {
	ID           int64  `json:"id"`
	RegistryID   string `json:"registry_id"`
	RegistryName string `json:"registry_name"`
	ImageName    string `json:"image_name"`
	ImageVersion string `json:"image_version"`
	Namespace    string `json:"namespace"`
	RegistryType string `json:"registry_type"`
	FailedReason string `json:"failed_reason"`
}

type taskList struct {
	TotalNum int32               `json:"total_num"`
	DataList []imageScanTaskInfo `json:"data_list"`
}

// parseTaskQuery validates ListImageScanTask's query (taskquery.Parse,
// which the web console's Tasks page parses with too).
func parseTaskQuery(r *http.Request) (tasks.Filter, string, *apiError) {
	l, perr := taskquery.Parse(r.URL.Query())
	if perr != nil {
		return tasks.Filter{}, "", paramError(perr)
	}
	return l.Filter, l.EnterpriseProject, nil
}

// listTasks is ListImageScanTask.
func (s *server) listTasks(w http.ResponseWriter, r *http.Request, c *call) error {
	f, ep, aerr := parseTaskQuery(r)
	if aerr != nil {
		return aerr
	}
	if _, err := s.enterpriseProjects(c.Principal, ep); err != nil {
		return err
	}
	f.ProjectID = c.ProjectID
	ctx := r.Context()
	list, total, err := s.cfg.Tasks.ListTasks(ctx, f)
	if err != nil {
		return fmt.Errorf("list tasks of project %s: %w", c.ProjectID, err)
	}
	out := taskList{TotalNum: clampInt32(total), DataList: make([]imageScanTaskInfo, 0, len(list))}
	regs := registryNames{s: s, projectID: c.ProjectID, known: map[int64]inventory.Registry{}}
	for _, t := range list {
		info := imageScanTaskInfo{
			TaskID: t.ID, TaskName: t.Name, BeginTime: t.BeginTime, EndTime: t.EndTime,
			TaskType: string(t.Kind), ImageType: t.ImageType, TaskStatus: t.Status(),
			ScanScope: t.ScanScope, RateLimit: t.RateLimit, IsAll: t.IsAll,
			FailedNum: t.FailedNum, SuccessNum: t.SuccessNum, TotalNum: t.TotalNum, RiskyNum: t.RiskyNum,
			FailedReason: t.FailedReason, FailedImages: []taskFailedImage{},
		}
		if t.Type == tasks.Sync {
			info.SyncTaskType = string(t.Kind)
		}
		if t.Type == tasks.Scan && t.FailedNum > 0 {
			items, _, err := s.cfg.Tasks.ListTaskItems(ctx, tasks.ItemFilter{ProjectID: c.ProjectID, TaskID: t.ID,
				States: []string{tasks.ItemFailed}, Limit: maxFailedImages})
			if err != nil {
				return fmt.Errorf("failed images of task %s: %w", t.ID, err)
			}
			for _, it := range items {
				reg, err := regs.get(ctx, it.RegistryID)
				if err != nil {
					return err
				}
				fi := taskFailedImage{ID: it.RefID, RegistryName: reg.Name, RegistryType: string(reg.Type),
					ImageName: it.ImageName, ImageVersion: it.ImageVersion, Namespace: it.Namespace, FailedReason: it.FailedReason}
				if it.RegistryID != 0 {
					fi.RegistryID = strconv.FormatInt(it.RegistryID, 10)
				}
				info.FailedImages = append(info.FailedImages, fi)
			}
		}
		out.DataList = append(out.DataList, info)
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// registryNames looks connections up once per request; a connection
// deleted since leaves its name empty.
type registryNames struct {
	s         *server
	projectID string
	known     map[int64]inventory.Registry
}

func (n registryNames) get(ctx context.Context, id int64) (inventory.Registry, error) {
	if id == 0 {
		return inventory.Registry{}, nil
	}
	if reg, ok := n.known[id]; ok {
		return reg, nil
	}
	reg, err := n.s.cfg.Store.GetRegistry(ctx, n.projectID, id)
	if errors.Is(err, inventory.ErrNotFound) {
		err = nil
	}
	if err != nil {
		return inventory.Registry{}, fmt.Errorf("registry %d: %w", id, err)
	}
	n.known[id] = reg
	return reg, nil
}

// taskOf reads the path's task_id: a task of the project and of type t, or
// errTaskAbsent.
func (s *server) taskOf(r *http.Request, projectID string, t tasks.Type) (tasks.Task, error) {
	id := r.PathValue("task_id")
	if id == "" || len(id) > maxTaskIDLen {
		return tasks.Task{}, invalidParam("task_id", "must be 1 to %d characters", maxTaskIDLen)
	}
	task, err := s.cfg.Tasks.GetTask(r.Context(), projectID, id)
	if errors.Is(err, tasks.ErrNotFound) || (err == nil && task.Type != t) {
		return tasks.Task{}, errTaskAbsent
	}
	if err != nil {
		return tasks.Task{}, fmt.Errorf("task %s: %w", id, err)
	}
	return task, nil
}

// associateRegistry is a data_list entry of ListAssociateRegistries.
type associateRegistry struct {
	RegistryID   string `json:"registry_id"`
	RegistryName string `json:"registry_name"`
	RegistryType string `json:"registry_type"`
	SyncStatus   string `json:"sync_status"`
	FailedReason string `json:"failed_reason"`
}

type associateRegistries struct {
	TotalNum int32               `json:"total_num"`
	DataList []associateRegistry `json:"data_list"`
}

// listAssociateRegistries is ListAssociateRegistries: the connections of a
// sync task and how their syncs ended.
func (s *server) listAssociateRegistries(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	ep := q.Text("enterprise_project_id", maxEnterpriseID)
	f := taskquery.ReadSyncItems(q).Filter
	f.ProjectID = c.ProjectID
	f.Offset, f.Limit = q.Page()
	if q.Err != nil {
		return paramError(q.Err)
	}
	if _, err := s.enterpriseProjects(c.Principal, ep); err != nil {
		return err
	}
	task, err := s.taskOf(r, c.ProjectID, tasks.Sync)
	if err != nil {
		return err
	}
	f.TaskID = task.ID
	items, total, err := s.cfg.Tasks.ListTaskItems(r.Context(), f)
	if errors.Is(err, tasks.ErrNotFound) {
		return errTaskAbsent
	}
	if err != nil {
		return fmt.Errorf("registries of task %s: %w", task.ID, err)
	}
	out := associateRegistries{TotalNum: clampInt32(total), DataList: make([]associateRegistry, 0, len(items))}
	for _, it := range items {
		out.DataList = append(out.DataList, associateRegistry{
			RegistryID: strconv.FormatInt(it.RegistryID, 10), RegistryName: it.RegistryName,
			RegistryType: it.RegistryType, SyncStatus: tasks.SyncStatus(it.State), FailedReason: tasks.SyncFailedReason(it),
		})
	}
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// stopScanTask is StopImageScanTask: the task ends as stopped (-1), its
// pending items are cancelled, and the scans no other running task waits
// for are cancelled: a queued one is never pulled, a running one stops at
// its next lease heartbeat (docs/api.md, Tasks, StopImageScanTask).
func (s *server) stopScanTask(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.requestEnterpriseProjects(r, c.Principal); err != nil {
		return err
	}
	task, err := s.taskOf(r, c.ProjectID, tasks.Scan)
	if err != nil {
		return err
	}
	errEnded := invalidParam("task_id", "the task has already ended")
	if task.Ended() {
		return errEnded
	}
	ctx := r.Context()
	err = taskrun.StopScanTask(ctx, s.cfg.Tasks, s.cfg.Scans, c.ProjectID, task.ID, "stopped by the client", inventory.Millis(s.cfg.Now()))
	switch {
	case errors.Is(err, tasks.ErrEnded):
		return errEnded
	case errors.Is(err, tasks.ErrNotFound):
		return errTaskAbsent
	case err != nil:
		return fmt.Errorf("stop task %s: %w", task.ID, err)
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// createScanTaskBody is the SDK's CreateManualImageScanTaskReqInfo.
type createScanTaskBody struct {
	ScanScope *int64               `json:"scan_scope"`
	RateLimit *int64               `json:"rate_limit"`
	IsAll     *bool                `json:"is_all"`
	QueryInfo *createScanQueryInfo `json:"query_info"`
	ImageInfo []struct {
		ID *int64 `json:"id"`
	} `json:"image_info"`
}

// createScanQueryInfo is the SDK's CreateManualImageScanTaskReqInfoQueryInfo
// (the fields openhss reads; the node-image ones are ignored).
type createScanQueryInfo struct {
	Namespace             string `json:"namespace"`
	ImageName             string `json:"image_name"`
	ImageVersion          string `json:"image_version"`
	ImageType             string `json:"image_type"`
	ScanStatus            string `json:"scan_status"`
	HasVul                *bool  `json:"has_vul"`
	ImageSize             *int64 `json:"image_size"`
	StartLatestUpdateTime *int64 `json:"start_latest_update_time"`
	EndLatestUpdateTime   *int64 `json:"end_latest_update_time"`
	StartLatestScanTime   *int64 `json:"start_latest_scan_time"`
	EndLatestScanTime     *int64 `json:"end_latest_scan_time"`
}

// maxScanTaskImages bounds image_info.
const maxScanTaskImages = 1000

// createScanTask is CreateManualImageScanTask: a manual scan task over the
// rows image_info names (by their ListRegistryImages id) or, with is_all,
// every row of one image type that query_info selects.
func (s *server) createScanTask(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	ep := q.Text("enterprise_project_id", maxEnterpriseID)
	global := q.Text("global_image_type", 32)
	if q.Err != nil {
		return paramError(q.Err)
	}
	// local (the SDK's) and local_image (the English docs') select the
	// images imported from files (image_type local_image) instead of the
	// registry images (docs/api.md, Tasks).
	local := false
	switch global {
	case "", "registry":
	case "local", "local_image":
		local = true
	default:
		return invalidParam("global_image_type", "must be registry or local")
	}
	eps, err := s.enterpriseProjects(c.Principal, ep)
	if err != nil {
		return err
	}
	var b createScanTaskBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	t := tasks.Task{ProjectID: c.ProjectID, Type: tasks.Scan, Kind: tasks.Manual, ScanScope: scanScopeAll, ImageType: "registry"}
	if local {
		t.ImageType = "local"
	}
	if b.ScanScope != nil {
		if *b.ScanScope < 1 || *b.ScanScope > maxScanScope {
			return invalidParam("scan_scope", "must be a bitmask between 1 and %d", maxScanScope)
		}
		// A part is selected by any bit of its group; a mask of bits
		// outside every group would scan nothing (docs/api.md, Tasks).
		if scanresult.Scope(*b.ScanScope).Parts() == 0 {
			return invalidParam("scan_scope", "selects no part: set a bit of 0x000f0000 (vulnerabilities), 0x0000f000 (baseline), "+
				"0x00000f00 (malware), 0x000000f0 (sensitive information) or 0x0000000f (software compliance)")
		}
		t.ScanScope = int32(*b.ScanScope)
	}
	if b.RateLimit != nil {
		if *b.RateLimit < 0 || *b.RateLimit > 1000 {
			return invalidParam("rate_limit", "must be between 0 and 1000")
		}
		t.RateLimit = int32(*b.RateLimit)
	}
	ctx := r.Context()
	if b.IsAll != nil && *b.IsAll {
		qi := b.QueryInfo
		if qi == nil {
			qi = &createScanQueryInfo{}
		}
		typ := inventory.ImageType(qi.ImageType)
		switch {
		case local:
			// Only one kind of local image: query_info.image_type may
			// name it or be left out.
			if typ != "" && typ != inventory.LocalImage {
				return invalidParam("query_info.image_type", "must be local_image or absent with global_image_type local")
			}
			typ = inventory.LocalImage
		case typ == "":
			return invalidParam("query_info.image_type", "is required with is_all (private_image, shared_image or instance_image)")
		case typ != inventory.PrivateImage && typ != inventory.SharedImage && typ != inventory.InstanceImage:
			return invalidParam("query_info.image_type", "must be private_image, shared_image or instance_image")
		}
		f, aerr := allFilter(c.ProjectID, typ, eps, batchScanBody{
			Namespace: qi.Namespace, ImageName: qi.ImageName, ImageVersion: qi.ImageVersion, ScanStatus: qi.ScanStatus,
			ImageSize: qi.ImageSize, StartLatestUpdateTime: qi.StartLatestUpdateTime, EndLatestUpdateTime: qi.EndLatestUpdateTime,
			StartLatestScanTime: qi.StartLatestScanTime, EndLatestScanTime: qi.EndLatestScanTime,
		})
		if aerr != nil {
			return aerr
		}
		f.HasVul = qi.HasVul
		if _, err := s.starter.StartScanAll(ctx, t, f); err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, struct{}{})
		return nil
	}
	if len(b.ImageInfo) == 0 {
		return invalidParam("image_info", "must name at least one image unless is_all is true")
	}
	if len(b.ImageInfo) > maxScanTaskImages {
		return invalidParam("image_info", "names %d images, more than %d", len(b.ImageInfo), maxScanTaskImages)
	}
	var (
		rows    []inventory.Image
		missing []string
		seen    = map[int64]bool{}
	)
	for i, ii := range b.ImageInfo {
		field := fmt.Sprintf("image_info[%d].id", i)
		if ii.ID == nil || *ii.ID <= 0 {
			return invalidParam(field, "is required: the image's id in ListRegistryImages")
		}
		if seen[*ii.ID] {
			return invalidParam(field, "image %d is named twice", *ii.ID)
		}
		seen[*ii.ID] = true
		img, err := s.cfg.Tasks.GetImage(ctx, c.ProjectID, *ii.ID)
		if errors.Is(err, inventory.ErrNotFound) || (err == nil && (!visible(img, eps) || (img.Type == inventory.LocalImage) != local)) {
			missing = append(missing, strconv.FormatInt(*ii.ID, 10))
			continue
		}
		if err != nil {
			return fmt.Errorf("image %d: %w", *ii.ID, err)
		}
		if notAnImage(img) {
			return invalidParam(field, "image %d is not a container image and cannot be scanned", img.ID)
		}
		rows = append(rows, img)
	}
	if len(missing) > 0 {
		return &apiError{http.StatusNotFound, codeNotFound, "images not found: " + strings.Join(missing, ", ")}
	}
	if _, err = s.starter.StartScan(ctx, t, rows); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
