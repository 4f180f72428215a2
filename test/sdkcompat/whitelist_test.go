package sdkcompat

import (
	"slices"
	"testing"

	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// The deprecated pair (filepath_whitelist, with an underscore) is called on
// purpose: clients built against older SDKs still use it. See
// deprecated_test.go for why the calls go through wrappers.

func showFilePathWhiteDetail(c *hss.HssClient, r *model.ShowFilePathWhiteDetailRequest) (*model.ShowFilePathWhiteDetailResponse, error) {
	//lint:ignore SA1019 the deprecated operation is what these tests prove still works
	return c.ShowFilePathWhiteDetail(r)
}

func changeFilePathWhiteDetail(c *hss.HssClient, r *model.ChangeFilePathWhiteDetailRequest) (*model.ChangeFilePathWhiteDetailResponse, error) {
	//lint:ignore SA1019 the deprecated operation is what these tests prove still works
	return c.ChangeFilePathWhiteDetail(r)
}

// TestFilePathWhitelistConformance drives the sensitive path whitelist of a
// real `openhss serve` through the SDK: the --sensitive-allowlist default
// is default_path, POST replaces the project's list, both generations share
// it, and a refused list changes nothing.
func TestFilePathWhitelistConformance(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin, "--sensitive-allowlist", "/etc/ssl/private,/opt/*/test-keys")
	const project = "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)
	def := []string{"/etc/ssl/private", "/opt/*/test-keys"}

	show := func(t *testing.T) (def, custom []string) {
		t.Helper()
		r, err := c.ShowFilePathWhiteLists(&model.ShowFilePathWhiteListsRequest{})
		if err != nil {
			t.Fatalf("ShowFilePathWhiteLists: %v", err)
		}
		if r.HttpStatusCode != 200 || r.DefaultPath == nil || r.CustomizedPath == nil {
			t.Fatalf("ShowFilePathWhiteLists = %s", dump(r))
		}
		return *r.DefaultPath, *r.CustomizedPath
	}

	t.Run("Show", func(t *testing.T) {
		d, custom := show(t)
		if !slices.Equal(d, def) || len(custom) != 0 {
			t.Fatalf("default_path %q customized_path %q; want %q and []", d, custom, def)
		}
		r, err := c.ShowFilePathWhiteLists(&model.ShowFilePathWhiteListsRequest{EnterpriseProjectId: ptr("all_granted_eps"), FilePath: ptr("opt")})
		if err != nil || !slices.Equal(*r.DefaultPath, []string{"/opt/*/test-keys"}) {
			t.Fatalf("file_path=opt: %v %s", err, dump(r))
		}
	})

	t.Run("ChangeReplaces", func(t *testing.T) {
		for _, list := range [][]string{{"/srv/app/.env", "/home/*/.aws"}, {"/root/.ssh"}} {
			r, err := c.ChangeFilePathWhiteLists(&model.ChangeFilePathWhiteListsRequest{
				Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &list}})
			if err != nil || r.HttpStatusCode != 200 {
				t.Fatalf("ChangeFilePathWhiteLists(%q): %v", list, err)
			}
			if _, custom := show(t); !slices.Equal(custom, list) {
				t.Fatalf("after ChangeFilePathWhiteLists(%q) customized_path = %q", list, custom)
			}
		}
	})

	t.Run("Deprecated", func(t *testing.T) {
		r, err := showFilePathWhiteDetail(c, &model.ShowFilePathWhiteDetailRequest{})
		if err != nil || !slices.Equal(*r.DefaultPath, def) || !slices.Equal(*r.CustomizedPath, []string{"/root/.ssh"}) {
			t.Fatalf("ShowFilePathWhiteDetail: %v %s", err, dump(r))
		}
		list := []string{"/var/lib/app/*.key"}
		if _, err := changeFilePathWhiteDetail(c, &model.ChangeFilePathWhiteDetailRequest{
			Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &list}}); err != nil {
			t.Fatalf("ChangeFilePathWhiteDetail: %v", err)
		}
		if _, custom := show(t); !slices.Equal(custom, list) {
			t.Fatalf("the new generation reads %q after the deprecated change to %q", custom, list)
		}
		bad := []string{"relative/path"}
		_, err = changeFilePathWhiteDetail(c, &model.ChangeFilePathWhiteDetailRequest{
			Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &bad}})
		wantSDKError(t, err, 400, "HSS.0001")
	})

	t.Run("BadInputChangesNothing", func(t *testing.T) {
		_, before := show(t)
		for _, bad := range [][]string{{"/"}, {"/srv/[a-"}, {"/srv/../etc"}, {""}, {"srv"}} {
			_, err := c.ChangeFilePathWhiteLists(&model.ChangeFilePathWhiteListsRequest{
				Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &bad}})
			wantSDKError(t, err, 400, "HSS.0001")
		}
		_, err := c.ChangeFilePathWhiteLists(&model.ChangeFilePathWhiteListsRequest{Body: &model.ChangeFilePathWhiteDetailRequestInfo{}})
		wantSDKError(t, err, 400, "HSS.0001")
		if _, after := show(t); !slices.Equal(after, before) {
			t.Fatalf("refused changes turned %q into %q", before, after)
		}
	})

	t.Run("ClearWithEmptyList", func(t *testing.T) {
		empty := []string{}
		if _, err := c.ChangeFilePathWhiteLists(&model.ChangeFilePathWhiteListsRequest{
			Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &empty}}); err != nil {
			t.Fatalf("ChangeFilePathWhiteLists([]): %v", err)
		}
		if _, custom := show(t); len(custom) != 0 {
			t.Fatalf("customized_path after [] = %q", custom)
		}
	})
}

// checkWhitelistHidesSensitive sets the project's whitelist to dir through
// the SDK and checks that ListImageSensitive of image then shows none of
// the findings under dir and all the others, then clears the list again.
func checkWhitelistHidesSensitive(t *testing.T, c *hss.HssClient, imageID, dir string) {
	t.Helper()
	files := func() []string {
		t.Helper()
		r, err := c.ListImageSensitive(&model.ListImageSensitiveRequest{ImageType: "private_image", ImageId: imageID, Limit: ptr(int32(100))})
		if err != nil {
			t.Fatalf("ListImageSensitive: %v", err)
		}
		var out []string
		for _, s := range *r.DataList {
			out = append(out, *s.FilePath)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	set := func(list []string) {
		t.Helper()
		if _, err := c.ChangeFilePathWhiteLists(&model.ChangeFilePathWhiteListsRequest{
			Body: &model.ChangeFilePathWhiteDetailRequestInfo{CustomizedPath: &list}}); err != nil {
			t.Fatalf("ChangeFilePathWhiteLists(%q): %v", list, err)
		}
	}
	before := files()
	var want []string
	for _, f := range before {
		if f != dir && !(len(f) > len(dir) && f[:len(dir)+1] == dir+"/") {
			want = append(want, f)
		}
	}
	if len(want) == len(before) || len(want) == 0 {
		t.Fatalf("the image's sensitive files %q must lie both inside and outside %s", before, dir)
	}
	set([]string{dir})
	if got := files(); !slices.Equal(got, want) {
		t.Fatalf("with %s whitelisted ListImageSensitive shows %q; want %q", dir, got, want)
	}
	set([]string{})
	if got := files(); !slices.Equal(got, before) {
		t.Fatalf("with the whitelist cleared ListImageSensitive shows %q; want %q", got, before)
	}
}
