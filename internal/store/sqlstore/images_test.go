package sqlstore_test

import (
	"context"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// A manifest listed twice in one put takes its last listing, as one upsert
// per listing would, on both engines.
func TestPutManifestsLastListingWins(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			st, _, _ := open(t)
			ctx := context.Background()
			d := "sha256:" + name
			img, err := st.PutLocalImage(ctx, inventory.Image{ProjectID: "p", Name: "n", Tag: "t", Digest: d},
				[]inventory.Manifest{{Digest: "sha256:other", Size: 7}, {Digest: d, Size: 1}, {Digest: d, Size: 2, Scannable: true}})
			if err != nil {
				t.Fatal(err)
			}
			if img.Size != 2 || !img.Scannable {
				t.Errorf("size %d, scannable %t: want the last listing's 2, true", img.Size, img.Scannable)
			}
		})
	}
}
