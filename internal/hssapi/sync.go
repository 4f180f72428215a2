package hssapi

import (
	"fmt"
	"net/http"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

type synchronizeBody struct {
	ImageType string `json:"image_type"`
}

// synchronizeResponse is the SDK's RunImageSynchronizeResponse: unlike every
// error body, its error_code is an integer.
type synchronizeResponse struct {
	ErrorCode        int32  `json:"error_code"`
	ErrorDescription string `json:"error_description"`
}

func (s *server) synchronize(w http.ResponseWriter, r *http.Request, c *call) error {
	// Sync covers every connection of the kind in the project; the
	// parameter is still checked so a caller cannot name an enterprise
	// project it was not granted.
	if _, err := s.requestEnterpriseProjects(r, c.Principal); err != nil {
		return err
	}
	var b synchronizeBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	t := inventory.ImageType(b.ImageType)
	switch t {
	case inventory.PrivateImage, inventory.SharedImage, inventory.InstanceImage:
	case "":
		return invalidParam("image_type", "is required (private_image, shared_image or instance_image)")
	default:
		return invalidParam("image_type", "must be private_image, shared_image or instance_image")
	}
	// A manualSync task over the type's connections (docs/api.md, Tasks).
	ctx := r.Context()
	regs, err := s.cfg.Tasks.RegistriesByImageType(ctx, c.ProjectID, t)
	if err != nil {
		return fmt.Errorf("registries of project %s: %w", c.ProjectID, err)
	}
	_, err = s.starter.Start(ctx, tasks.Task{ProjectID: c.ProjectID, Type: tasks.Sync, Kind: tasks.ManualSync}, taskrun.SyncItems(regs),
		func(tasks.Task) error {
			if _, _, err := s.cfg.Sync.Request(ctx, c.ProjectID, t); err != nil {
				return fmt.Errorf("request %s sync of project %s: %w", t, c.ProjectID, err)
			}
			return nil
		})
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, synchronizeResponse{ErrorCode: 0, ErrorDescription: "success"})
	return nil
}
