package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/openhss/openhss/internal/imagetest"
)

// PopulateBase is the created time of tag 0 of every populated repository;
// tag i was created i hours later.
var PopulateBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Populate fills the registry with repos repositories of tags tags each,
// fast: one small shared layer, one config per tag index (shared across
// repositories), and a manifest per tag that is unique to its repository
// (an annotation names it), pushed concurrently over plain HTTP.
// Repository i is "ns<i%10>/repo<i>"; tag j is "v<j>". It returns the
// repository names.
func (r *Registry) Populate(t testing.TB, repos, tags int) []string {
	t.Helper()
	p := populator{base: "http://" + r.direct, user: r.user, pass: r.pass, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	layer := imagetest.Tar(t, imagetest.Reg("etc/populated", "x\n"))
	layerDesc := v1.Descriptor{MediaType: types.OCIUncompressedLayer, Size: int64(len(layer)), Digest: sha(layer)}
	configs := make([][]byte, tags)
	for j := range configs {
		cfg := v1.ConfigFile{
			Created:      v1.Time{Time: PopulateBase.Add(time.Duration(j) * time.Hour)},
			OS:           "linux",
			Architecture: "amd64",
			RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{layerDesc.Digest}},
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		configs[j] = b
	}
	names := make([]string, repos)
	for i := range names {
		names[i] = fmt.Sprintf("ns%d/repo%04d", i%10, i)
	}
	ctx := context.Background()
	// The first repository receives every blob; the others mount them.
	if err := p.upload(ctx, names[0], layer); err != nil {
		t.Fatal(err)
	}
	for _, c := range configs {
		if err := p.upload(ctx, names[0], c); err != nil {
			t.Fatal(err)
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, repo := range names {
		g.Go(func() error {
			if i > 0 {
				for _, b := range append([][]byte{layer}, configs...) {
					if err := p.mount(ctx, repo, names[0], sha(b)); err != nil {
						return err
					}
				}
			}
			for j, c := range configs {
				m := v1.Manifest{
					SchemaVersion: 2,
					MediaType:     types.OCIManifestSchema1,
					Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(c)), Digest: sha(c)},
					Layers:        []v1.Descriptor{layerDesc},
					Annotations:   map[string]string{"org.openhss.registrytest.repo": repo},
				}
				raw, err := json.Marshal(m)
				if err != nil {
					return err
				}
				if err := p.put(ctx, repo, fmt.Sprintf("v%d", j), raw); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return names
}

// PopulatedSize is the image_size of every populated tag.
func PopulatedSize(t testing.TB) int64 {
	// Rebuild one config: they only differ in the created time, whose
	// encoding has a fixed width for the times Populate uses.
	layer := imagetest.Tar(t, imagetest.Reg("etc/populated", "x\n"))
	cfg, err := json.Marshal(v1.ConfigFile{
		Created: v1.Time{Time: PopulateBase}, OS: "linux", Architecture: "amd64",
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{sha(layer)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(layer) + len(cfg))
}

type populator struct {
	base, user, pass string
	client           *http.Client
}

func (p populator) do(ctx context.Context, method, u, ctype string, body []byte, want int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if p.user != "" {
		req.SetBasicAuth(p.user, p.pass)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, msg)
	}
	return resp, nil
}

func (p populator) upload(ctx context.Context, repo string, blob []byte) error {
	resp, err := p.do(ctx, http.MethodPost, p.base+"/v2/"+repo+"/blobs/uploads/", "", nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", sha(blob).String())
	loc.RawQuery = q.Encode()
	_, err = p.do(ctx, http.MethodPut, loc.String(), "application/octet-stream", blob, http.StatusCreated)
	return err
}

func (p populator) mount(ctx context.Context, repo, from string, d v1.Hash) error {
	u := p.base + "/v2/" + repo + "/blobs/uploads/?mount=" + url.QueryEscape(d.String()) + "&from=" + url.QueryEscape(from)
	_, err := p.do(ctx, http.MethodPost, u, "", nil, http.StatusCreated)
	return err
}

func (p populator) put(ctx context.Context, repo, tag string, manifest []byte) error {
	_, err := p.do(ctx, http.MethodPut, p.base+"/v2/"+repo+"/manifests/"+tag, string(types.OCIManifestSchema1), manifest, http.StatusCreated)
	return err
}

func sha(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}
