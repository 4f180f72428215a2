package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/demo"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
)

// quickstartProject is the project the tour works in. Any string is a valid
// project id for openhss; this one has the 32-hex shape Huawei Cloud uses.
const quickstartProject = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"

func newQuickstartCmd(g *globals) *cobra.Command {
	o := &serveOptions{workers: 2, jobRetention: defaultJobRetention, taskTimeout: tasks.DefaultTimeout,
		trendRefresh: trend.DefaultRefresh}
	var exitAfter bool
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Tour on the embedded default: sample registry, credential, sync, image list, then keep serving",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd, g, o, exitAfter)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", envOr("OPENHSS_LISTEN", "127.0.0.1:8080"), "address to serve the API on")
	f.StringVar(&o.region, "region", envOr("OPENHSS_REGION", "local-1"), "region name clients must use")
	f.BoolVar(&exitAfter, "exit", false, "stop after the tour instead of serving until Ctrl-C")
	addNetFlags(f, &o.net)
	addVulnDBFlags(f, &o.vulnDB)
	return cmd
}

func runQuickstart(cmd *cobra.Command, g *globals, o *serveOptions, exitAfter bool) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	out := cmd.OutOrStdout()
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()

	if _, err := o.net.policy(); err != nil { // a bad entry fails before anything starts
		return err
	}
	reg, err := demo.StartRegistry()
	if err != nil {
		return err
	}
	defer reg.Close()
	// The sample registry is on loopback, which the network policy denies:
	// allow its address (the policy works on addresses, not ports; the
	// address is 127.0.0.1 and nothing else of loopback).
	regHost, _, err := net.SplitHostPort(reg.Addr)
	if err != nil {
		return err
	}
	if o.policy, err = o.net.policy(regHost); err != nil {
		return err
	}
	// The tour goes on without the Go sample: the other samples show the
	// rest of the scanner. One line says why it is missing.
	goApp, err := demo.BuildVulnerableGoApp(ctx, filepath.Join(g.data, "quickstart"))
	skipped := ""
	switch {
	case errors.Is(err, demo.ErrNoGo):
		skipped = "building it needs the go command, which is not on PATH"
	case err != nil:
		skipped = oneLine(err.Error())
	}
	samples, err := demo.PushSamples(ctx, reg.Addr, goApp)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "1. Started a sample registry at %s holding:\n", reg.Addr)
	for _, s := range samples {
		fmt.Fprintf(out, "     %-26s %s\n", s.Ref, s.Description)
	}
	if skipped != "" {
		fmt.Fprintf(out, "   (skipping the vulnerable Go sample demo/goapp:1.0: %s)\n", skipped)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (is another openhss running? use --listen): %w", o.listen, err)
	}
	base := "http://" + ln.Addr().String()

	ak, sk, err := a.iam.CreateCredential(ctx, quickstartProject, inventory.Grant{All: true}, "quickstart")
	if err != nil {
		return err
	}
	password := randomPassword()
	userName := "demo-" + randomPassword()[:6]
	if _, err := a.iam.CreateUser(ctx, quickstartProject, userName, password, inventory.Grant{All: true}); err != nil {
		return err
	}
	fmt.Fprintf(out, "2. Created project %s, an AK/SK credential and user %q\n", quickstartProject, userName)

	regID, err := a.quickstartRegistry(ctx, reg.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "3. Registered the sample registry as connection %d\n", regID)

	svc, err := a.services(o)
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		serveErr <- a.serveWith(ctx, ln, o, svc, func(string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-serveErr:
		return err
	}

	job, _, err := svc.syncer.Request(ctx, quickstartProject, inventory.PrivateImage)
	if err != nil {
		return err
	}
	j, err := pollJob(ctx, a, job.ID)
	if err != nil {
		return err
	}
	if j.State != jobs.Done {
		return fmt.Errorf("sync failed: %s", j.Error)
	}
	fmt.Fprintf(out, "4. Synchronized it (job %d)\n", j.ID)

	src, err := a.quickstartVulnData(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "5. Vulnerability data: %s\n", src)

	images, err := allImages(ctx, a, quickstartProject, inventory.PrivateImage)
	if err != nil {
		return err
	}
	tickets, err := svc.scans.Request(ctx, quickstartProject, images)
	if err != nil {
		return err
	}
	for _, tk := range tickets {
		if _, err := pollJob(ctx, a, tk.Job.ID); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "6. Scanned %d images (%d distinct manifests)\n", len(images), len(tickets))

	// Drive the running server the way a client would: a token, then the list.
	token, err := fetchToken(ctx, base, quickstartProject, userName, password)
	if err != nil {
		return err
	}
	body, err := getWithToken(ctx, base+"/v5/"+quickstartProject+"/image/swr-repository?image_type=private_image&limit=50", token)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "7. GET /v5/%s/image/swr-repository?image_type=private_image answered:\n\n", quickstartProject)
	if err := printListTable(out, body); err != nil {
		return err
	}

	state := "is serving"
	if exitAfter {
		state = "served"
	}
	fmt.Fprintf(out, `
openhss %[9]s the HSS v5 API at %[1]s (data in %[2]s).

The web console: open %[1]s/ in a browser and sign in as %[3]s with password %[4]s.

With curl and a token:

  TOKEN=$(curl -s -i -X POST %[1]s/v3/auth/tokens -H 'Content-Type: application/json' \
    -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%[3]s","password":"%[4]s","domain":{"name":"%[3]s"}}}},"scope":{"project":{"id":"%[5]s"}}}}' \
    | tr -d '\r' | awk 'tolower($1)=="x-subject-token:" {print $2}')
  curl -s -H "X-Auth-Token: $TOKEN" '%[1]s/v5/%[5]s/image/swr-repository?image_type=private_image&latest_version=true'

With the official Go SDK (github.com/huaweicloud/huaweicloud-sdk-go-v3, services/hss/v5):

  auth := basic.NewCredentialsBuilder().WithAk("%[6]s").WithSk("%[7]s").WithProjectId("%[5]s").Build()
  client := hss.NewHssClient(hss.HssClientBuilder().
      WithRegion(region.NewRegion("%[8]s", "%[1]s")).WithCredential(auth).Build())
  resp, err := client.ListSwrImageRepository(&model.ListSwrImageRepositoryRequest{ImageType: "private_image"})

The secret key and password above are shown only this once.
`, base, g.data, userName, password, quickstartProject, ak, sk, o.region, state)
	printNextSteps(out, g.data, o, exitAfter)

	if exitAfter {
		cancel()
		return <-serveErr
	}
	fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
	return <-serveErr
}

// printNextSteps ends the tour with what to do next, in commands that work
// from any directory: the data directory is absolute.
func printNextSteps(w io.Writer, data string, o *serveOptions, exited bool) {
	serve := "openhss serve"
	if o.listen != "127.0.0.1:8080" {
		serve += " --listen " + o.listen
	}
	if o.region != "local-1" {
		serve += " --region " + o.region
	}
	where := "in another terminal while this one serves"
	if exited {
		where = "in a shell"
	}
	fmt.Fprintf(w, "\nNext, %s (openhss is `go run ./cmd/openhss` in the source tree):\n\n", where)
	fmt.Fprintf(w, "  export OPENHSS_DATA=%s P=%s\n", data, quickstartProject)
	steps := [][2]string{
		{"openhss images --project $P", "this image list again"},
		{"openhss registry add --project $P --name mine --addr HOST[:PORT] --username USER --password-stdin", ""},
		{"openhss sync --project $P --wait", "list your own registry's images"},
		{"openhss scan --project $P --all --wait", "and scan them"},
	}
	if exited {
		steps = append([][2]string{{serve, "serve this data again; the credential and user above stay valid"}}, steps...)
	}
	for _, l := range steps {
		if l[1] == "" {
			fmt.Fprintf(w, "  %s\n", l[0])
		} else {
			fmt.Fprintf(w, "  %-40s  %s\n", l[0], l[1])
		}
	}
	fmt.Fprintln(w, "\ndocs/api.md lists the API's routes; openhss --help lists every command.")
}

// quickstartRegistry points the tour's registry connection at addr, adding
// it on the first run and moving it on later ones (the sample registry gets
// a new port each time).
func (a *app) quickstartRegistry(ctx context.Context, addr string) (int64, error) {
	const name = "quickstart-samples"
	regs, _, err := a.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: quickstartProject, Name: name, Limit: 10})
	if err != nil {
		return 0, err
	}
	for _, r := range regs {
		if r.Name == name {
			r.Addr = addr
			r, err = a.store.UpdateRegistry(ctx, r)
			return r.ID, err
		}
	}
	r, err := a.store.CreateRegistry(ctx, inventory.Registry{
		ProjectID:           quickstartProject,
		EnterpriseProjectID: inventory.DefaultEnterpriseProject,
		Name:                name,
		Type:                inventory.SwrPrivate,
		APIVersion:          "V2",
		Protocol:            "http",
		Addr:                addr,
		Status:              inventory.RegistryPending,
		CreatedAt:           time.Now().UnixMilli(),
	})
	return r.ID, err
}

// goVulnDBVersion is the Go vulnerability database module the quickstart
// falls back to when the OSV bucket cannot be reached: every machine with Go
// reaches the Go module proxy.
const goVulnDBVersion = "v0.0.0-20261105234957-e22db6528018"

// quickstartVulnData makes sure the store holds vulnerability records for
// the samples: the Go ecosystem from the public OSV bucket, else the Go
// vulnerability database module through the Go module proxy (with the go
// command). It returns one line: where the records came from, or why there
// are none, in which case the tour goes on and scans for everything else.
// Only a store failure is an error.
func (a *app) quickstartVulnData(ctx context.Context) (string, error) {
	vdb, err := a.vulnDB()
	if err != nil {
		return "", err
	}
	st, err := vdb.Status(ctx)
	if err != nil {
		return "", err
	}
	for _, e := range st.Ecosystems {
		if e.Ecosystem == "Go" && e.Records > 0 {
			return fmt.Sprintf("%d Go records already imported", e.Records), nil
		}
	}
	uctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	res, err := vdb.Update(uctx, vulndb.DefaultBaseURL, []string{"Go"})
	cancel()
	if err == nil && len(res) == 1 && res[0].Records > 0 {
		return fmt.Sprintf("%d Go records from the OSV bucket", res[0].Records), nil
	}
	// The bucket's error is long (a URL and a network error): it goes to
	// the log, and the tour's line says what it means.
	a.log.Info("OSV bucket not usable; using the Go vulnerability database module", "err", err)
	none := func(why string) string {
		return "none: the OSV bucket could not be read, and " + why +
			"; vul_num stays 0 until `openhss db update` or `openhss db import` loads records"
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return none("the go command, which fetches the Go vulnerability database instead, is not on PATH"), nil
	}
	dir, err := downloadGoVulnDB(ctx, goCmd)
	if err != nil {
		return none(oneLine(err.Error())), nil
	}
	r, err := vdb.Import(ctx, filepath.Join(dir, "data", "osv"))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d Go records from golang.org/x/vulndb@%s (Go module proxy)", r.Records, goVulnDBVersion), nil
}

// downloadGoVulnDB downloads the Go vulnerability database module into the
// module cache and returns its directory. The go command runs in an empty
// directory of its own, outside any module or workspace the user is in, so
// that it never reads or changes their go.mod.
func downloadGoVulnDB(ctx context.Context, goCmd string) (string, error) {
	dir, err := os.MkdirTemp("", "openhss-vulndb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	mod := "golang.org/x/vulndb@" + goVulnDBVersion
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", mod)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		// go mod download -json reports a module's failure in its JSON
		// (Error), other failures on stderr.
		var res struct{ Error string }
		if json.Unmarshal(out, &res) == nil && res.Error != "" {
			return "", fmt.Errorf("go mod download %s failed: %s", mod, res.Error)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(bytes.TrimSpace(ee.Stderr)) > 0 {
			return "", fmt.Errorf("go mod download %s failed: %s", mod, oneLine(string(ee.Stderr)))
		}
		return "", fmt.Errorf("go mod download %s failed: %w", mod, err)
	}
	var res struct{ Dir string }
	if err := json.Unmarshal(out, &res); err != nil || res.Dir == "" {
		return "", fmt.Errorf("go mod download %s: unexpected output: %v", mod, err)
	}
	return res.Dir, nil
}

// oneLine folds a message onto one line: the tour reports each step in one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func pollJob(ctx context.Context, a *app, id int64) (jobs.Job, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		j, err := a.store.GetJob(ctx, id)
		if err != nil || j.State == jobs.Done || j.State == jobs.Failed {
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-tick.C:
		}
	}
}

func fetchToken(ctx context.Context, base, project, user, password string) (string, error) {
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": user, "password": password, "domain": map[string]any{"name": user}}}},
		"scope": map[string]any{"project": map[string]any{"id": project}},
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/auth/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != http.StatusCreated || tok == "" {
		return "", fmt.Errorf("POST /v3/auth/tokens: %s %s", resp.Status, b)
	}
	return tok, nil
}

func getWithToken(ctx context.Context, url, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return b, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	return hex.EncodeToString(b)
}
