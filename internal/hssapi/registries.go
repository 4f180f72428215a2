package hssapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
)

// registryInfo is the SDK's RegistryInfo, every field present. The SDK types
// id as a string, so the integer id is sent as its decimal spelling.
type registryInfo struct {
	ID                  string `json:"id"`
	RegistryName        string `json:"registry_name"`
	RegistryType        string `json:"registry_type"`
	APIVersion          string `json:"api_version"`
	Protocol            string `json:"protocol"`
	RegistryAddr        string `json:"registry_addr"`
	RegistryUsername    string `json:"registry_username"`
	Namespace           string `json:"namespace"`
	ConnectClusterID    string `json:"connect_cluster_id"`
	GetScanImageChannel string `json:"get_scan_image_channel"`
	Status              string `json:"status"`
	FailReason          string `json:"fail_reason"`
	ImagesNum           int32  `json:"images_num"`
	LatestSyncTime      int64  `json:"latest_sync_time"`
}

// addRegistryBody is the SDK's AddRegistryRequestBody.
type addRegistryBody struct {
	RegistryName        string  `json:"registry_name"`
	RegistryType        string  `json:"registry_type"`
	APIVersion          string  `json:"api_version"`
	Protocol            string  `json:"protocol"`
	RegistryAddr        string  `json:"registry_addr"`
	RegistryUsername    string  `json:"registry_username"`
	RegistryPassword    string  `json:"registry_password"`
	Namespace           *string `json:"namespace"`
	ConnectClusterID    string  `json:"connect_cluster_id"`
	GetScanImageChannel string  `json:"get_scan_image_channel"`
}

// updateRegistryBody is the SDK's UpdateRegistryRequestBody: absent fields
// keep their value. Name and type cannot change, as in HSS.
type updateRegistryBody struct {
	APIVersion          *string `json:"api_version"`
	Protocol            *string `json:"protocol"`
	RegistryAddr        *string `json:"registry_addr"`
	RegistryUsername    *string `json:"registry_username"`
	RegistryPassword    *string `json:"registry_password"`
	Namespace           *string `json:"namespace"`
	ConnectClusterID    *string `json:"connect_cluster_id"`
	GetScanImageChannel *string `json:"get_scan_image_channel"`
}

// emptyObject is the body of AddRegistry, UpdateRegistry and DeleteRegistry
// responses: their SDK models have no fields.
type emptyObject struct{}

func toRegistryInfo(r inventory.Registry) registryInfo {
	return registryInfo{
		ID:                  strconv.FormatInt(r.ID, 10),
		RegistryName:        r.Name,
		RegistryType:        string(r.Type),
		APIVersion:          r.APIVersion,
		Protocol:            r.Protocol,
		RegistryAddr:        r.Addr,
		RegistryUsername:    r.Username,
		Namespace:           r.Namespace,
		ConnectClusterID:    r.ConnectClusterID,
		GetScanImageChannel: r.GetScanImageChannel,
		Status:              inventory.APIRegistryStatus(r.Status),
		FailReason:          r.FailReason,
		ImagesNum:           r.ImagesNum,
		LatestSyncTime:      r.LatestSyncTime,
	}
}

func (s *server) listRegistries(w http.ResponseWriter, r *http.Request, c *call) error {
	rq, aerr := parseRegistryQuery(r.URL.Query())
	if aerr != nil {
		return aerr
	}
	eps, err := s.enterpriseProjects(c.Principal, rq.EnterpriseProject)
	if err != nil {
		return err
	}
	f := rq.Filter
	f.ProjectID = c.ProjectID
	f.EnterpriseProjects = eps
	regs, total, err := s.cfg.Store.ListRegistries(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list registries: %w", err)
	}
	resp := listResponse[registryInfo]{TotalNum: total, DataList: make([]registryInfo, 0, len(regs))}
	for _, reg := range regs {
		resp.DataList = append(resp.DataList, toRegistryInfo(reg))
	}
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *server) addRegistry(w http.ResponseWriter, r *http.Request, c *call) error {
	ep, err := s.singleEnterpriseProject(c.Principal, r)
	if err != nil {
		return err
	}
	var b addRegistryBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	reg := inventory.Registry{
		ProjectID:           c.ProjectID,
		EnterpriseProjectID: ep,
		Name:                b.RegistryName,
		Type:                inventory.RegistryType(b.RegistryType),
		APIVersion:          b.APIVersion,
		Protocol:            b.Protocol,
		Addr:                b.RegistryAddr,
		Username:            b.RegistryUsername,
		ConnectClusterID:    b.ConnectClusterID,
		GetScanImageChannel: b.GetScanImageChannel,
		Status:              inventory.RegistryPending,
		CreatedAt:           inventory.Millis(s.cfg.Now()),
	}
	if b.Namespace != nil {
		reg.Namespace = *b.Namespace
	}
	if err := checkText("registry_name", reg.Name, 1, maxNameLen); err != nil {
		return err
	}
	if !reg.Type.Valid() {
		return invalidParam("registry_type", "must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
	}
	if reg.APIVersion == "" {
		reg.APIVersion = "V2"
	}
	if err := s.checkRegistry(&reg); err != nil {
		return err
	}
	if err := checkText("registry_password", b.RegistryPassword, 0, maxPasswordLen); err != nil {
		return err
	}
	if reg.PasswordSealed, err = s.cfg.Box.Seal(b.RegistryPassword); err != nil {
		return fmt.Errorf("seal registry password: %w", err)
	}
	if _, err := s.cfg.Store.CreateRegistry(r.Context(), reg); err != nil {
		if errors.Is(err, inventory.ErrConflict) {
			return errRegistryExists
		}
		return fmt.Errorf("create registry: %w", err)
	}
	s.writeJSON(w, http.StatusOK, emptyObject{})
	return nil
}

func (s *server) updateRegistry(w http.ResponseWriter, r *http.Request, c *call) error {
	reg, err := s.scopedRegistry(r, c)
	if err != nil {
		return err
	}
	var b updateRegistryBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	// The stored target, already normalised (checkRegistry ran when it
	// was stored), to compare the updated one with.
	stored := reg
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&reg.APIVersion, b.APIVersion)
	set(&reg.Protocol, b.Protocol)
	set(&reg.Addr, b.RegistryAddr)
	set(&reg.Username, b.RegistryUsername)
	set(&reg.Namespace, b.Namespace)
	set(&reg.ConnectClusterID, b.ConnectClusterID)
	set(&reg.GetScanImageChannel, b.GetScanImageChannel)
	if err := s.checkRegistry(&reg); err != nil {
		return err
	}
	password := b.RegistryPassword
	if password == nil && newCredentialTarget(stored, reg) {
		// The sealed password was given for the stored host, scheme and
		// user: sending it anywhere else would hand it to whoever runs the
		// new address. A new target needs the password given again.
		none := ""
		password = &none
	}
	if password != nil {
		if err := checkText("registry_password", *password, 0, maxPasswordLen); err != nil {
			return err
		}
		if reg.PasswordSealed, err = s.cfg.Box.Seal(*password); err != nil {
			return fmt.Errorf("seal registry password: %w", err)
		}
		if reg.PasswordSealed == nil {
			// Seal gives nil for "", which UpdateRegistry reads as "keep
			// the stored password": empty, not nil, clears it.
			reg.PasswordSealed = []byte{}
		}
	}
	if _, err := s.cfg.Store.UpdateRegistry(r.Context(), reg); err != nil {
		switch {
		case errors.Is(err, inventory.ErrConflict):
			return errRegistryExists
		case errors.Is(err, inventory.ErrNotFound):
			return errRegistryMissing
		}
		return fmt.Errorf("update registry %d: %w", reg.ID, err)
	}
	s.writeJSON(w, http.StatusOK, emptyObject{})
	return nil
}

// newCredentialTarget reports whether an update points a connection's
// credentials somewhere else: a registry address, protocol or user name
// different from the stored one. Both are compared after checkRegistry's
// normalisation (the address in registry.ParseAddr's canonical form), so a
// client that sends the stored values back, in any spelling that
// normalises to them, changes nothing.
func newCredentialTarget(stored, updated inventory.Registry) bool {
	return registry.NewCredentialTarget(stored, updated)
}

func (s *server) deleteRegistry(w http.ResponseWriter, r *http.Request, c *call) error {
	reg, err := s.scopedRegistry(r, c)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteRegistry(r.Context(), c.ProjectID, reg.ID); err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return errRegistryMissing
		}
		return fmt.Errorf("delete registry %d: %w", reg.ID, err)
	}
	s.writeJSON(w, http.StatusOK, emptyObject{})
	return nil
}

// scopedRegistry loads the path's registry of the caller's project, inside
// the enterprise projects the request names. A registry outside them is
// "not found", exactly like one of another project: its existence is not
// the caller's business.
func (s *server) scopedRegistry(r *http.Request, c *call) (inventory.Registry, error) {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return inventory.Registry{}, err
	}
	idText := r.PathValue("id")
	id, ok := imagequery.ParseID(idText)
	if !ok {
		return inventory.Registry{}, invalidParam("id", "must be a positive integer")
	}
	reg, err := s.cfg.Store.GetRegistry(r.Context(), c.ProjectID, id)
	if errors.Is(err, inventory.ErrNotFound) {
		return inventory.Registry{}, errRegistryMissing
	}
	if err != nil {
		return inventory.Registry{}, fmt.Errorf("get registry %d: %w", id, err)
	}
	if eps != nil && !slices.Contains(eps, reg.EnterpriseProjectID) {
		return inventory.Registry{}, errRegistryMissing
	}
	return reg, nil
}

// singleEnterpriseProject resolves enterprise_project_id for a request
// that creates something: it must name exactly one enterprise project.
func (s *server) singleEnterpriseProject(p iam.Principal, r *http.Request) (string, error) {
	q, aerr := singleQueryValue(r, "enterprise_project_id")
	if aerr != nil {
		return "", aerr
	}
	if q == "all_granted_eps" {
		return "", invalidParam("enterprise_project_id", "a registry belongs to one enterprise project, not all_granted_eps")
	}
	eps, err := s.enterpriseProjects(p, q)
	if err != nil {
		return "", err
	}
	if q == "" {
		q = inventory.DefaultEnterpriseProject
	}
	// A nil result means "all granted": q itself is then allowed.
	if eps != nil && !slices.Contains(eps, q) {
		return "", errForbidden
	}
	return q, nil
}

func singleQueryValue(r *http.Request, name string) (string, *apiError) {
	q := &imagequery.Reader{V: r.URL.Query()}
	v := q.Text(name, maxEnterpriseID)
	if q.Err != nil {
		return "", paramError(q.Err)
	}
	return v, nil
}

// checkRegistry validates the fields that add and update share, and
// canonicalizes the address: registry.CheckConnection, which the web
// console's forms use too.
func (s *server) checkRegistry(reg *inventory.Registry) *apiError {
	return fieldError(registry.CheckConnection(reg, s.cfg.NetPolicy))
}

// checkText enforces a length range (bytes) and refuses control
// characters: registry.CheckText.
func checkText(name, v string, min, max int) *apiError {
	return fieldError(registry.CheckText(name, v, min, max))
}

// fieldError is a registry.FieldError as the API's 400 invalid parameter.
func fieldError(err error) *apiError {
	if err == nil {
		return nil
	}
	var fe *registry.FieldError
	if errors.As(err, &fe) {
		return invalidParam(fe.Param, "%s", fe.Reason)
	}
	return invalidParam("registry", "%s", err.Error())
}
