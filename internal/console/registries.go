package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registryquery"
	"github.com/openhss/openhss/internal/tasks"
)

// registryTypes are the connection types the add form offers.
var registryTypes = []inventory.RegistryType{"Harbor", "Jfrog", "Other", "SwrPrivate", "SwrShared", "SwrEnterprise"}

// registryView is the Registries page's data.
type registryView struct {
	Query       url.Values // the list's normalized query, as the filter form shows it
	APIQuery    string     // the same query for GET .../image/registries
	Back        string     // this list, where a batch delete returns
	FilterError string     // a refused filter: the API's message, no list
	Rows        []inventory.Registry
	pager
	Types   []inventory.RegistryType
	Form    url.Values // the add form's values after a refusal
	Message string     // a finished action, or the refusal
	Error   bool
}

// registriesList is the Registries page's query as the API's registry
// list (GET /v5/{project}/image/registries) reads it: the page's done
// message left out, every granted enterprise project unless given.
var registriesList = listSpec{own: []string{"done"}, defaults: map[string]string{"enterprise_project_id": iam.AllGrantedEPs}}

// registryRow loads the path's connection of the session's project within
// its granted enterprise projects; another project's or enterprise
// project's connection is not found, as in the API (scopedRegistry).
func (c *Console) registryRow(r *http.Request, s *session, idText string) (inventory.Registry, bool, error) {
	return scopedRow(r, s, "registry", idText, c.opts.Store.GetRegistry,
		func(reg inventory.Registry) string { return reg.EnterpriseProjectID })
}

// registries lists the project's connections with the add form.
func (c *Console) registries(w http.ResponseWriter, r *http.Request, s *session) {
	v := registryView{}
	switch r.URL.Query().Get("done") {
	case "added":
		v.Message = "The registry was added. Sync it to list its images."
	case "updated":
		v.Message = "The registry was changed."
	case "deleted":
		v.Message = "The registry was deleted."
	case "deleted-selected":
		v.Message = "The selected registries were deleted."
	case "synced":
		v.Message = "A sync task was started: the Tasks page shows its progress."
	}
	c.registryPage(w, r, s, http.StatusOK, v)
}

// registryPage renders the list with v's message and form: the query
// parsing (registryquery) and store call (ListRegistries) of the API's GET
// /v5/{project_id}/image/registries, a page at a time.
func (c *Console) registryPage(w http.ResponseWriter, r *http.Request, s *session, status int, v registryView) {
	v.Types = registryTypes
	if v.Form == nil {
		v.Form = url.Values{"protocol": {"https"}, "registry_type": {"Harbor"}, "enterprise_project_id": {inventory.DefaultEnterpriseProject}}
	}
	in := r.URL.Query()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		in = nil // a refused add shows the first page
	}
	q, _ := registriesList.query(in) // no date to refuse
	v.Query, v.APIQuery = q, q.Encode()
	v.Back = "/registries?" + v.APIQuery
	page := func(status int) {
		c.render(w, r, status, "registries", s, map[string]any{"Title": "Registries", "V": v})
	}
	l, perr := registryquery.Parse(q)
	if perr != nil {
		v.FilterError = perr.Error()
		page(http.StatusBadRequest)
		return
	}
	eps, msg := s.listScope(l.EnterpriseProject)
	if msg != "" {
		v.FilterError = msg
		page(http.StatusBadRequest)
		return
	}
	f := l.Filter
	f.ProjectID, f.EnterpriseProjects = s.principal.ProjectID, eps
	rows, total, err := c.opts.Store.ListRegistries(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: list registries: %w", err))
		return
	}
	v.Rows, v.pager = rows, newPager("/registries", q, f.Offset, f.Limit, len(rows), total)
	page(status)
}

// deleteRegistries deletes the connections selected on the Registries
// page through the API's BatchDeleteRegistry store call (DeleteRegistries):
// all or none, so an id of another project, of an enterprise project not
// granted, or unknown deletes nothing and answers 404.
func (c *Console) deleteRegistries(w http.ResponseWriter, r *http.Request, s *session) {
	ids, ok := c.selectedIDs(w, r, s, "registry", "registries", "delete")
	if !ok {
		return
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if err := c.opts.Store.DeleteRegistries(r.Context(), s.principal.ProjectID, eps, ids); err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			c.notFound(w, r, s, "Registry")
			return
		}
		c.fail(w, r, s, fmt.Errorf("console: delete %d registries: %w", len(ids), err))
		return
	}
	q := url.Values{}
	if back, err := url.Parse(backToList(r.PostForm.Get("back"), "/registries")); err == nil {
		q = back.Query()
	}
	q.Del("offset") // the deleted rows left the page
	q.Set("done", "deleted-selected")
	http.Redirect(w, r, "/registries?"+q.Encode(), http.StatusSeeOther)
}

// formRegistry reads the fields a form sets on a connection.
func formRegistry(reg *inventory.Registry, f url.Values) {
	reg.Protocol = f.Get("protocol")
	reg.Addr = strings.TrimSpace(f.Get("registry_addr"))
	reg.Username = f.Get("registry_username")
	reg.Namespace = strings.TrimSpace(f.Get("namespace"))
	if reg.APIVersion == "" {
		reg.APIVersion = "V2"
	}
}

// addRegistry adds a connection with the API's AddRegistry checks: the
// same field validation and network policy (registry.CheckConnection) and
// the password sealed by the same box; nothing is stored on a refusal.
func (c *Console) addRegistry(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	refuse := func(msg string) {
		form := url.Values{}
		for _, k := range []string{"registry_name", "registry_type", "protocol", "registry_addr", "registry_username", "namespace", "enterprise_project_id"} {
			form.Set(k, f.Get(k))
		}
		c.registryPage(w, r, s, http.StatusBadRequest, registryView{Form: form, Message: msg, Error: true})
	}
	ep := f.Get("enterprise_project_id")
	if ep == "" {
		ep = inventory.DefaultEnterpriseProject
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if ep == "all_granted_eps" || (eps != nil && !slices.Contains(eps, ep)) || registry.CheckText("enterprise_project_id", ep, 1, 64) != nil {
		// As the API's AddRegistry: a connection belongs to one granted
		// enterprise project; the refusal stores nothing.
		c.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Message": "Enterprise project " + ep + " is not one granted to you."})
		return
	}
	reg := inventory.Registry{ProjectID: s.principal.ProjectID, EnterpriseProjectID: ep, Name: f.Get("registry_name"),
		Type: inventory.RegistryType(f.Get("registry_type")), Status: inventory.RegistryPending,
		CreatedAt: inventory.Millis(c.opts.Now())}
	formRegistry(&reg, f)
	if err := registry.CheckText("registry_name", reg.Name, 1, registry.MaxNameLen); err != nil {
		refuse(err.Error())
		return
	}
	if !reg.Type.Valid() {
		refuse("invalid parameter registry_type: must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
		return
	}
	if err := c.checkConnection(&reg, f.Get("registry_password")); err != nil {
		refuse(err.Error())
		return
	}
	if reg.PasswordSealed, err = c.opts.Box.Seal(f.Get("registry_password")); err != nil {
		c.fail(w, r, s, fmt.Errorf("console: seal registry password: %w", err))
		return
	}
	if _, err := c.opts.Store.CreateRegistry(r.Context(), reg); err != nil {
		if errors.Is(err, inventory.ErrConflict) {
			refuse("A registry with this address and namespace already exists in the project.")
			return
		}
		c.fail(w, r, s, fmt.Errorf("console: create registry: %w", err))
		return
	}
	http.Redirect(w, r, "/registries?done=added", http.StatusSeeOther)
}

// checkConnection is the API's check of a connection's fields and
// password (registry.CheckConnection, registry.CheckText).
func (c *Console) checkConnection(reg *inventory.Registry, password string) error {
	if err := registry.CheckConnection(reg, c.opts.NetPolicy); err != nil {
		return err
	}
	return registry.CheckText("registry_password", password, 0, registry.MaxPasswordLen)
}

// registryForm is the edit form of one connection.
func (c *Console) registryForm(w http.ResponseWriter, r *http.Request, s *session, reg inventory.Registry, status int, msg string) {
	c.render(w, r, status, "registry", s, map[string]any{"Title": "Registry " + reg.Name, "Reg": reg, "Message": msg,
		"Status": inventory.APIRegistryStatus(reg.Status)})
}

// registry serves /registries/{id} and its actions.
func (c *Console) registry(w http.ResponseWriter, r *http.Request, s *session) {
	rest := strings.TrimPrefix(r.URL.Path, "/registries/")
	idText, action, _ := strings.Cut(rest, "/")
	reg, ok, err := c.registryRow(r, s, idText)
	if !c.found(w, r, s, "Registry", ok, err) {
		return
	}
	switch action {
	case "":
		c.registryForm(w, r, s, reg, http.StatusOK, "")
	case "edit":
		c.editRegistry(w, r, s, reg)
	case "delete":
		if err := c.opts.Store.DeleteRegistry(r.Context(), s.principal.ProjectID, reg.ID); err != nil {
			if errors.Is(err, inventory.ErrNotFound) {
				c.notFound(w, r, s, "Registry")
				return
			}
			c.fail(w, r, s, fmt.Errorf("console: delete registry %d: %w", reg.ID, err))
			return
		}
		http.Redirect(w, r, "/registries?done=deleted", http.StatusSeeOther)
	case "test":
		password, err := c.opts.Box.Open(reg.PasswordSealed)
		if err != nil {
			c.fail(w, r, s, fmt.Errorf("console: open password of registry %d: %w", reg.ID, err))
			return
		}
		if err := c.opts.Registries.Ping(r.Context(), reg, password); err != nil {
			c.registryForm(w, r, s, reg, http.StatusOK, "Connection failed: "+registry.FailReason(err))
			return
		}
		c.registryForm(w, r, s, reg, http.StatusOK, "Connection succeeded: the registry answers and accepts the credentials.")
	case "sync":
		// A manualSync task over this connection, as
		// CreateImageSynchronizeTask with its registry_info.
		if _, err := c.opts.Tasks.StartSync(r.Context(), tasks.Task{ProjectID: s.principal.ProjectID, Kind: tasks.ManualSync},
			[]inventory.Registry{reg}); err != nil {
			c.fail(w, r, s, fmt.Errorf("console: sync registry %d: %w", reg.ID, err))
			return
		}
		http.Redirect(w, r, "/registries?done=synced", http.StatusSeeOther)
	default:
		c.notFound(w, r, s, "Page")
	}
}

// editRegistry changes a connection with the API's UpdateRegistry rules:
// an empty password field keeps the stored password, unless the address,
// protocol or user changed, which clears it (registry.NewCredentialTarget:
// the password was given for the stored target only).
func (c *Console) editRegistry(w http.ResponseWriter, r *http.Request, s *session, stored inventory.Registry) {
	f := r.PostForm
	reg := stored
	formRegistry(&reg, f)
	password := f.Get("registry_password")
	if err := c.checkConnection(&reg, password); err != nil {
		c.registryForm(w, r, s, stored, http.StatusBadRequest, err.Error())
		return
	}
	if password != "" || registry.NewCredentialTarget(stored, reg) {
		sealed, err := c.opts.Box.Seal(password)
		if err != nil {
			c.fail(w, r, s, fmt.Errorf("console: seal registry password: %w", err))
			return
		}
		if sealed == nil {
			sealed = []byte{} // empty, not nil, clears the stored password
		}
		reg.PasswordSealed = sealed
	} else {
		reg.PasswordSealed = nil // keep the stored password
	}
	if _, err := c.opts.Store.UpdateRegistry(r.Context(), reg); err != nil {
		switch {
		case errors.Is(err, inventory.ErrConflict):
			c.registryForm(w, r, s, stored, http.StatusBadRequest, "A registry with this address and namespace already exists in the project.")
			return
		case errors.Is(err, inventory.ErrNotFound):
			c.notFound(w, r, s, "Registry")
			return
		}
		c.fail(w, r, s, fmt.Errorf("console: update registry %d: %w", reg.ID, err))
		return
	}
	http.Redirect(w, r, "/registries?done=updated", http.StatusSeeOther)
}
