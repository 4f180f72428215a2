package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
)

func newRegistryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Manage registry connections"}
	var r inventory.Registry
	var typ string
	var pwStdin bool
	var netOpts netOptions
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a registry connection (same effect as POST /v5/{project_id}/image/registries)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r.Type = inventory.RegistryType(typ)
			if !r.Type.Valid() {
				return fmt.Errorf("--type %q: want SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog or Other", typ)
			}
			if r.Protocol != "http" && r.Protocol != "https" {
				return fmt.Errorf("--protocol %q: want http or https", r.Protocol)
			}
			addr, err := registry.ParseAddr(r.Addr)
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			// The same check as POST /image/registries: an IP literal the
			// servers' policy denies would only fail every sync.
			policy, err := netOpts.policy()
			if err != nil {
				return err
			}
			if err := policy.CheckAddr(addr); err != nil {
				return fmt.Errorf("--addr: %w (see --registry-allow)", err)
			}
			r.Addr = addr
			password := ""
			if pwStdin {
				if password, err = readSecretLine(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			created, err := a.addRegistry(cmd, r, password)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": fmt.Sprint(created.ID), "registry_name": created.Name, "registry_addr": created.Addr})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added registry %d (%s, %s://%s)\n", created.ID, created.Name, created.Protocol, created.Addr)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&r.ProjectID, "project", "", "project id (required)")
	f.StringVar(&r.Name, "name", "", "connection name (required)")
	f.StringVar(&r.Addr, "addr", "", "registry address HOST[:PORT] (required)")
	f.StringVar(&r.Protocol, "protocol", "https", "http or https")
	f.StringVar(&typ, "type", string(inventory.SwrPrivate), "registry type: SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
	f.StringVar(&r.Namespace, "namespace", "", "only this namespace (default: all)")
	f.StringVar(&r.Username, "username", "", "user name for basic or token auth")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the registry password from standard input")
	f.StringVar(&r.EnterpriseProjectID, "enterprise-project", inventory.DefaultEnterpriseProject, "enterprise project the connection belongs to")
	addNetFlags(f, &netOpts)
	for _, n := range []string{"project", "name", "addr"} {
		_ = add.MarkFlagRequired(n)
	}
	cmd.AddCommand(add)
	return cmd
}

func (a *app) addRegistry(cmd *cobra.Command, r inventory.Registry, password string) (inventory.Registry, error) {
	ctx := cmd.Context()
	if _, err := a.store.EnsureProject(ctx, inventory.Project{ID: r.ProjectID, Name: r.ProjectID}); err != nil {
		return r, err
	}
	sealed, err := a.box.Seal(password)
	if err != nil {
		return r, err
	}
	r.PasswordSealed = sealed
	r.APIVersion = "V2"
	r.Status = inventory.RegistryPending
	r.CreatedAt = time.Now().UnixMilli()
	created, err := a.store.CreateRegistry(ctx, r)
	if errors.Is(err, inventory.ErrConflict) {
		return r, fmt.Errorf("a registry with address %s and namespace %q already exists in project %s", r.Addr, r.Namespace, r.ProjectID)
	}
	return created, err
}

func newSyncCmd(g *globals) *cobra.Command {
	var project, imageType string
	var wait bool
	o := &serveOptions{workers: 1}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Synchronize the project's registries of one image type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := inventory.ImageType(imageType)
			if t != inventory.PrivateImage && t != inventory.SharedImage && t != inventory.InstanceImage {
				return fmt.Errorf("--image-type %q: want private_image, shared_image or instance_image", imageType)
			}
			var err error
			if o.policy, err = o.net.policy(); err != nil {
				return err
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			svc, err := a.services(o)
			if err != nil {
				return err
			}
			job, joined, err := svc.syncer.Request(cmd.Context(), project, t)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !wait {
				verb := "queued"
				if joined {
					verb = "joined"
				}
				fmt.Fprintf(out, "%s sync job %d\n", verb, job.ID)
				return nil
			}
			if err := svc.waitJobs(cmd.Context(), a, []int64{job.ID}); err != nil {
				return err
			}
			regs, err := a.store.RegistriesByImageType(cmd.Context(), project, t)
			if err != nil {
				return err
			}
			if g.json {
				type row struct {
					ID         int64  `json:"id"`
					Name       string `json:"registry_name"`
					Status     string `json:"status"`
					FailReason string `json:"fail_reason"`
					ImagesNum  int32  `json:"images_num"`
				}
				rows := []row{}
				for _, r := range regs {
					rows = append(rows, row{r.ID, r.Name, inventory.APIRegistryStatus(r.Status), r.FailReason, r.ImagesNum})
				}
				return printJSON(out, rows)
			}
			for _, r := range regs {
				line := fmt.Sprintf("registry %d %s (%s): %s, %d images", r.ID, r.Name, r.Addr, inventory.APIRegistryStatus(r.Status), r.ImagesNum)
				if r.FailReason != "" {
					line += ": " + r.FailReason
				}
				fmt.Fprintln(out, strings.TrimSpace(line))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "project id (required)")
	cmd.Flags().StringVar(&imageType, "image-type", string(inventory.PrivateImage), "private_image, shared_image or instance_image")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has finished and print the registries' state")
	addNetFlags(cmd.Flags(), &o.net)
	_ = cmd.MarkFlagRequired("project")
	return cmd
}
