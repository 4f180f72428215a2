package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/localimage"
)

// listFlags are the swr-repository query parameters as flags: each flag is
// named like its parameter with dashes, and is passed to the API's own parser.
var listFlags = []string{
	"namespace", "image_name", "image_version", "latest_version", "offset", "limit",
	"scan_status", "instance_name", "image_size", "start_latest_update_time", "end_latest_update_time",
	"start_latest_scan_time", "end_latest_scan_time", "has_malicious_file", "has_unsafe_setting", "has_vul",
	"instance_id", "enterprise_project_id",
}

func newImagesCmd(g *globals) *cobra.Command {
	var project, typ string
	vals := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List images as GET /v5/{project_id}/image/swr-repository does (--json prints its exact response)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"image_type": {typ}}
			for _, n := range listFlags {
				if f := cmd.Flags().Lookup(strings.ReplaceAll(n, "_", "-")); f != nil && f.Changed {
					q.Set(n, *vals[n])
				}
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			// The CLI is the operator's view: every enterprise project.
			body, err := hssapi.ListImagesJSON(cmd.Context(), a.store, project, q, nil)
			if err != nil {
				return err
			}
			if g.json {
				_, err = cmd.OutOrStdout().Write(append(body, '\n'))
				return err
			}
			return printListTable(cmd.OutOrStdout(), body)
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "project id (required)")
	cmd.Flags().StringVar(&typ, "type", string(inventory.PrivateImage), "image type: private_image, shared_image, local_image, instance_image")
	for _, n := range listFlags {
		v := new(string)
		vals[n] = v
		cmd.Flags().StringVar(v, strings.ReplaceAll(n, "_", "-"), "", "filter: the API's "+n+" parameter")
	}
	_ = cmd.MarkFlagRequired("project")
	cmd.AddCommand(newImagesImportCmd(g))
	return cmd
}

func newImagesImportCmd(g *globals) *cobra.Command {
	var project, ep, ref string
	cmd := &cobra.Command{
		Use:   "import PATH",
		Short: "Add a local_image from an OCI layout directory or a docker save tarball",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if _, err := a.store.EnsureProject(cmd.Context(), inventory.Project{ID: project, Name: project}); err != nil {
				return err
			}
			img, err := localimage.Import(cmd.Context(), a.store, project, ep, args[0], ref)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": img.ID, "namespace": img.Namespace,
					"image_name": img.Name, "image_version": img.Tag, "image_digest": img.Digest})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s/%s:%s (%s) as image %d\n", img.Namespace, img.Name, img.Tag, img.Digest, img.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "project id (required)")
	cmd.Flags().StringVar(&ep, "enterprise-project", inventory.DefaultEnterpriseProject, "enterprise project of the image")
	cmd.Flags().StringVar(&ref, "name", "", "NS/REPO:TAG to list it under (default: from the archive, else the file name)")
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

// printListTable renders an swr-repository response body as a table.
func printListTable(w io.Writer, body []byte) error {
	var resp struct {
		TotalNum int `json:"total_num"`
		DataList []struct {
			ID           int64  `json:"id"`
			Namespace    string `json:"namespace"`
			ImageName    string `json:"image_name"`
			ImageVersion string `json:"image_version"`
			ImageDigest  string `json:"image_digest"`
			ImageSize    int64  `json:"image_size"`
			Latest       bool   `json:"latest_version"`
			Updated      int64  `json:"latest_update_time"`
			ScanStatus   string `json:"scan_status"`
			VulNum       int    `json:"vul_num"`
			UnsafeNum    int    `json:"unsafe_setting_num"`
			MaliciousNum int    `json:"malicious_file_num"`
			Scannable    bool   `json:"scannable"`
			Association  []any  `json:"association_images"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("decode image list: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIMAGE\tDIGEST\tSIZE\tUPDATED\tLATEST\tSCAN\tVULS\tUNSAFE\tMALICIOUS\tNOTE")
	for _, r := range resp.DataList {
		note := ""
		switch {
		case !r.Scannable:
			note = "not scannable"
		case len(r.Association) > 0:
			note = fmt.Sprintf("multi-arch (%d)", len(r.Association))
		}
		fmt.Fprintf(tw, "%d\t%s/%s:%s\t%.19s\t%d\t%s\t%v\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.Namespace, r.ImageName, r.ImageVersion,
			r.ImageDigest, r.ImageSize, time.UnixMilli(r.Updated).UTC().Format("2006-01-02"), r.Latest, r.ScanStatus,
			r.VulNum, r.UnsafeNum, r.MaliciousNum, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total_num: %d\n", resp.TotalNum)
	return err
}
