package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
)

func newScanCmd(g *globals) *cobra.Command {
	var (
		project, typ string
		all, wait    bool
		o            = &serveOptions{}
	)
	cmd := &cobra.Command{
		Use:   "scan --project ID [IMAGE-REF...|--all]",
		Short: "Queue scans of images (NS/NAME:TAG or row id); --wait runs them here if no server does and prints the results",
		RunE: func(cmd *cobra.Command, args []string) error {
			t := inventory.ImageType(typ)
			if !t.Valid() {
				return fmt.Errorf("--type %q: want private_image, shared_image, local_image or instance_image", typ)
			}
			if all == (len(args) > 0) {
				return errors.New("name images to scan, or give --all (not both)")
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
			ctx := cmd.Context()
			var images []inventory.Image
			if all {
				images, err = allImages(ctx, a, project, t)
			} else {
				images, err = resolveRefs(ctx, a, project, t, args)
			}
			if err != nil {
				return err
			}
			if len(images) == 0 {
				return fmt.Errorf("project %s has no scannable %s", project, t)
			}
			svc := a.services(o)
			tickets, err := svc.scans.Request(ctx, project, images)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !wait {
				for _, tk := range tickets {
					verb := "queued"
					if tk.Joined {
						verb = "joined"
					}
					fmt.Fprintf(out, "%s scan job %d for %s\n", verb, tk.Job.ID, tk.Digest)
				}
				return nil
			}
			ids := make([]int64, 0, len(tickets))
			for _, tk := range tickets {
				ids = append(ids, tk.Job.ID)
			}
			if err := svc.waitJobs(ctx, a, ids); err != nil {
				return err
			}
			results := make([]inventory.Image, 0, len(images))
			for _, img := range images {
				now, err := a.store.GetImage(ctx, project, img.ID)
				if err != nil {
					return err
				}
				results = append(results, now)
			}
			if g.json {
				type row struct {
					ID             int64  `json:"id"`
					Image          string `json:"image"`
					Digest         string `json:"image_digest"`
					ScanStatus     string `json:"scan_status"`
					ScanFailedDesc string `json:"scan_failed_desc"`
					VulNum         int32  `json:"vul_num"`
				}
				rows := []row{}
				for _, r := range results {
					rows = append(rows, row{r.ID, imageRef(r), r.Digest, string(r.ScanStatus), r.ScanFailedDesc, r.VulNum})
				}
				return printJSON(out, rows)
			}
			return printScanResults(out, results)
		},
	}
	f := cmd.Flags()
	f.StringVar(&project, "project", "", "project id (required)")
	f.StringVar(&typ, "type", string(inventory.PrivateImage), "image type: private_image, shared_image, local_image, instance_image")
	f.BoolVar(&all, "all", false, "scan every image of the type in the project")
	f.BoolVar(&wait, "wait", false, "wait until the scans have finished and print the results")
	f.IntVar(&o.workers, "workers", 2, "scan workers to run in this process while waiting")
	addScanFlags(f, &o.scan)
	addNetFlags(f, &o.net)
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

// resolveRefs finds the rows named by NS/NAME:TAG (every registry
// connection that has it) or by row id. Every unknown name is reported
// before anything is queued.
func resolveRefs(ctx context.Context, a *app, project string, t inventory.ImageType, refs []string) ([]inventory.Image, error) {
	var (
		out     []inventory.Image
		missing []string
	)
	for _, ref := range refs {
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
			img, err := a.store.GetImage(ctx, project, id)
			if errors.Is(err, inventory.ErrNotFound) {
				missing = append(missing, ref)
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, img)
			continue
		}
		repo, tag, ok := strings.Cut(ref, ":")
		if !ok || repo == "" || tag == "" {
			return nil, fmt.Errorf("image %q: want NAMESPACE/NAME:TAG or a row id", ref)
		}
		ns, name, found := strings.Cut(repo, "/")
		if !found {
			ns, name = "", repo
		}
		rows, err := a.store.ImagesByRef(ctx, project, t, ns, name, tag)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			missing = append(missing, ref)
		}
		out = append(out, rows...)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no such %s in project %s: %s", t, project, strings.Join(missing, ", "))
	}
	return out, nil
}

// allImages lists every row of the type that is a container image.
func allImages(ctx context.Context, a *app, project string, t inventory.ImageType) ([]inventory.Image, error) {
	f := inventory.Filter{ProjectID: project, Type: t, Limit: 200}
	var out []inventory.Image
	for {
		page, err := a.store.ListImages(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, img := range page.Images {
			if img.Scannable || img.ScanStatus == inventory.ImageOversized {
				out = append(out, img)
			}
		}
		if len(page.Images) < f.Limit {
			return out, nil
		}
		f.Offset += f.Limit
	}
}

// waitJobs runs this process's workers until every job in ids has ended.
// As with waitJob, a server on the same store may do the work instead.
func (s *services) waitJobs(ctx context.Context, a *app, ids []int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runner.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(ids) > 0 {
		j, err := a.store.GetJob(ctx, ids[0])
		if err != nil {
			return err
		}
		if j.State == jobs.Done || j.State == jobs.Failed {
			ids = ids[1:]
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func imageRef(img inventory.Image) string {
	if img.Namespace == "" {
		return img.Name + ":" + img.Tag
	}
	return img.Namespace + "/" + img.Name + ":" + img.Tag
}

func printScanResults(w io.Writer, images []inventory.Image) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIMAGE\tDIGEST\tSTATUS\tVULS\tREASON")
	for _, img := range images {
		fmt.Fprintf(tw, "%d\t%s\t%.19s\t%s\t%d\t%s\n", img.ID, imageRef(img), img.Digest, img.ScanStatus, img.VulNum, img.ScanFailedDesc)
	}
	return tw.Flush()
}

// byteSize is a flag value in bytes that accepts a unit: 10GiB, 512MiB,
// 2GB, 1048576.
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a positive size such as 10GiB, 512MiB or 1048576")
	}
	*b = byteSize(n * mult)
	return nil
}

func (b *byteSize) Type() string { return "size" }
