package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
)

func newScanCmd(g *globals) *cobra.Command {
	var (
		project, typ, failOn     string
		all, wait, ignoreUnfixed bool
		o                        = &serveOptions{}
	)
	cmd := &cobra.Command{
		Use:   "scan --project ID [IMAGE-REF...|--all]",
		Short: "Queue scans of images (NS/NAME:TAG or row id); --wait runs them here if no server does and prints the findings",
		Long: `Queue scans of images named by NS/NAME:TAG or row id, or of every scannable
image of the project (--all). Without --type every image type is covered.

--wait runs the scans in this process when no server does, then prints each
image's counts and vulnerabilities. --fail-on SEVERITY turns it into a CI
gate: the exit status is 1 when a scanned image has a vulnerability at or
above SEVERITY (an unrated one counts as medium), 0 when none has, and 2 on
any error, including a scan that did not succeed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			types := inventory.ImageTypes()
			if typ != "" {
				t := inventory.ImageType(typ)
				if !t.Valid() {
					return fmt.Errorf("--type %q: want private_image, shared_image, local_image or instance_image", typ)
				}
				types = []inventory.ImageType{t}
			}
			if all == (len(args) > 0) {
				return errors.New("name images to scan, or give --all (not both)")
			}
			var gate *policy
			if failOn != "" {
				sev, err := parseSeverity(failOn)
				if err != nil {
					return fmt.Errorf("--fail-on: %w", err)
				}
				gate = &policy{threshold: sev, ignoreUnfixed: ignoreUnfixed}
			}
			switch {
			case gate != nil && !wait:
				return errors.New("--fail-on needs --wait: the policy is checked on the finished scans")
			case ignoreUnfixed && gate == nil:
				return errors.New("--ignore-unfixed needs --fail-on: it narrows what the policy counts")
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
				images, err = scannableImages(ctx, a, project, types)
			} else {
				images, err = resolveRefs(ctx, a, project, types, args)
			}
			if err != nil {
				return err
			}
			if len(images) == 0 {
				return fmt.Errorf("project %s has no scannable %s", project, typeWords(types))
			}
			svc, err := a.services(o)
			if err != nil {
				return err
			}
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
			reports, err := readReports(ctx, a, project, images)
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(out, reports); err != nil {
					return err
				}
			} else if err := printReports(out, reports); err != nil {
				return err
			}
			if gate == nil {
				return nil
			}
			// The blocking rows go where they cannot break the JSON document.
			w := out
			if g.json {
				w = cmd.ErrOrStderr()
			}
			return gate.check(w, reports)
		},
	}
	f := cmd.Flags()
	f.StringVar(&project, "project", "", "project id (required)")
	f.StringVar(&typ, "type", "", "only this image type: private_image, shared_image, local_image, instance_image (default: every type)")
	f.BoolVar(&all, "all", false, "scan every scannable image in the project (of --type, if given)")
	f.BoolVar(&wait, "wait", false, "wait until the scans have finished and print their findings")
	f.StringVar(&failOn, "fail-on", "", "with --wait: exit 1 if an image has a vulnerability at or above this severity (critical, high, medium, low)")
	f.BoolVar(&ignoreUnfixed, "ignore-unfixed", false, "with --fail-on: count only vulnerabilities that have a fixed version")
	f.IntVar(&o.workers, "workers", 2, "scan workers to run in this process while waiting")
	addScanFlags(f, &o.scan)
	addNetFlags(f, &o.net)
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

// typeWords names the image types a command covers, for messages.
func typeWords(types []inventory.ImageType) string {
	if len(types) == 1 {
		return string(types[0])
	}
	return "image"
}

// resolveRefs finds the rows named by NS/NAME:TAG or by row id. A name
// matches the rows of every registry connection that has it, within one
// image type: a name found under several types (a synced private_image
// and an imported local_image, say) is ambiguous, and the error lists the
// candidates so the user can give --type or a row id. Every unknown or
// ambiguous name is reported before anything is queued.
func resolveRefs(ctx context.Context, a *app, project string, types []inventory.ImageType, refs []string) ([]inventory.Image, error) {
	var (
		out       []inventory.Image
		missing   []string
		ambiguous []string
		seen      = map[int64]bool{}
	)
	add := func(imgs ...inventory.Image) {
		for _, img := range imgs {
			if !seen[img.ID] {
				seen[img.ID] = true
				out = append(out, img)
			}
		}
	}
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
			add(img)
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
		var rows []inventory.Image
		kinds := 0
		for _, t := range types {
			got, err := a.store.ImagesByRef(ctx, project, t, ns, name, tag)
			if err != nil {
				return nil, err
			}
			if len(got) > 0 {
				kinds++
			}
			rows = append(rows, got...)
		}
		switch {
		case len(rows) == 0:
			missing = append(missing, ref)
		case kinds > 1:
			c, err := candidates(ctx, a, project, rows)
			if err != nil {
				return nil, err
			}
			ambiguous = append(ambiguous, fmt.Sprintf("%s is %s", ref, c))
		default:
			add(rows...)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("no such %s in project %s: %s", typeWords(types), project, strings.Join(missing, ", ")))
	}
	if len(ambiguous) > 0 {
		errs = append(errs, fmt.Errorf("ambiguous image name (give --type or a row id): %s", strings.Join(ambiguous, "; ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// candidates describes the rows an ambiguous name matches: type, row id
// and where the row comes from.
func candidates(ctx context.Context, a *app, project string, rows []inventory.Image) (string, error) {
	names := map[int64]string{}
	parts := make([]string, 0, len(rows))
	for _, img := range rows {
		from := "imported"
		if img.RegistryID != 0 {
			if _, ok := names[img.RegistryID]; !ok {
				r, err := a.store.GetRegistry(ctx, project, img.RegistryID)
				if err != nil {
					return "", fmt.Errorf("registry %d of image %d: %w", img.RegistryID, img.ID, err)
				}
				names[img.RegistryID] = fmt.Sprintf("registry %q (%s)", r.Name, r.Addr)
			}
			from = names[img.RegistryID]
		}
		parts = append(parts, fmt.Sprintf("%s id %d from %s", img.Type, img.ID, from))
	}
	return strings.Join(parts, ", "), nil
}

// scannableImages lists the scannable rows of every type in types.
func scannableImages(ctx context.Context, a *app, project string, types []inventory.ImageType) ([]inventory.Image, error) {
	var out []inventory.Image
	for _, t := range types {
		imgs, err := allImages(ctx, a, project, t)
		if err != nil {
			return nil, err
		}
		out = append(out, imgs...)
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
// A server on the same store may take a job instead: either way the job's
// end is seen in the store, so the command alone does the whole work on
// the embedded default and cooperates with a running server.
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
