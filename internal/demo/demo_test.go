package demo

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushSamples(t *testing.T) {
	reg, err := StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	samples, err := PushSamples(context.Background(), reg.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) < 5 {
		t.Fatalf("got %d samples", len(samples))
	}
	for _, s := range samples {
		ref, err := name.ParseReference(reg.Addr+"/"+s.Ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(ref)
		if err != nil {
			t.Fatalf("%s: %v", s.Ref, err)
		}
		if desc.Digest.Hex == "" {
			t.Fatalf("%s: no digest", s.Ref)
		}
	}
	// The chart's config blob is the chart metadata, not an image config.
	ref, _ := name.ParseReference(reg.Addr+"/charts/demo-chart:0.1.0", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != "application/vnd.cncf.helm.config.v1+json" {
		t.Fatalf("chart config media type %q", m.Config.MediaType)
	}
	// Same content, same digest: 1.0 and stable share a manifest.
	d1, _ := remote.Head(mustRef(t, reg.Addr+"/demo/web:1.0"))
	d2, _ := remote.Head(mustRef(t, reg.Addr+"/demo/web:stable"))
	if d1.Digest != d2.Digest {
		t.Fatalf("1.0 %s != stable %s", d1.Digest, d2.Digest)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
