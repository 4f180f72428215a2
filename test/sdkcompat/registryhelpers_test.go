package sdkcompat

import (
	"net"
	"slices"
	"testing"
	"time"

	hss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/registry/registrytest"
)

// hangingRegistry accepts connections and never answers: a connection to
// it stays accessing (never synced, or its sync still running) for the
// whole test, whatever syncs the server starts on its own.
func hangingRegistry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedAddr is a loopback address nothing listens on: a sync of it fails.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRegistryHelpers drives ListRegistry's SDK status values,
// ListRegistryStatistics and BatchDeleteRegistry through the official SDK
// against a real `openhss serve`.
func TestRegistryHelpers(t *testing.T) {
	bin := buildBinary(t)
	srv := startServer(t, bin)
	const project = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	reg := registrytest.New(t)
	reg.PushImage(t, "team/app", "1.0", registrytest.ImageOptions{Created: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	add := func(name, typ, addr string) string {
		t.Helper()
		if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
			RegistryName: name, RegistryType: typ, ApiVersion: "V2", Protocol: "http", RegistryAddr: addr,
		}}); err != nil {
			t.Fatalf("AddRegistry %s: %v", name, err)
		}
		resp, err := c.ListRegistry(&model.ListRegistryRequest{RegistryName: ptr(name)})
		if err != nil || resp.DataList == nil || len(*resp.DataList) != 1 {
			t.Fatalf("ListRegistry %s: %+v, %v", name, resp, err)
		}
		return *(*resp.DataList)[0].Id
	}
	// The shared connection is outside RunImageSynchronize(private_image).
	slow := add("slow", "SwrShared", hangingRegistry(t))
	good := add("good", "Other", reg.Addr())
	bad := add("bad", "Harbor", closedAddr(t))

	statuses := func(t *testing.T, status *string) map[string]string {
		t.Helper()
		resp, err := c.ListRegistry(&model.ListRegistryRequest{Status: status, Limit: ptr(int32(10))})
		if err != nil {
			t.Fatalf("ListRegistry(status=%v): %v", status, err)
		}
		out := map[string]string{}
		for _, r := range *resp.DataList {
			out[*r.Id] = *r.Status
		}
		if int(*resp.TotalNum) != len(out) {
			t.Fatalf("total_num %d, %d rows", *resp.TotalNum, len(out))
		}
		return out
	}
	// Just added: accessing, the SDK's value, not the stored "pending".
	if s := statuses(t, nil)[slow]; s != "accessing" {
		t.Fatalf("a connection just added has status %q, want accessing", s)
	}

	if _, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{Body: &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"}}); err != nil {
		t.Fatalf("RunImageSynchronize: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := statuses(t, nil)
		if s[good] == "success" && s[bad] == "fail" {
			break
		}
		for _, v := range s {
			if !slices.Contains([]string{"success", "fail", "accessing"}, v) {
				t.Fatalf("status %q is none of the SDK's values: %v", v, s)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncs did not end: %v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}

	t.Run("ListRegistry status filter", func(t *testing.T) {
		for status, want := range map[string]string{"accessing": slow, "success": good, "fail": bad} {
			got := statuses(t, ptr(status))
			if len(got) != 1 || got[want] != status {
				t.Errorf("status=%s: %v, want only %s", status, got, want)
			}
		}
		_, err := c.ListRegistry(&model.ListRegistryRequest{Status: ptr("pending")})
		wantSDKError(t, err, 400, "HSS.0001")
	})

	t.Run("ListRegistryStatistics", func(t *testing.T) {
		for _, tc := range []struct {
			types         *string
			success, fail int32
		}{
			{nil, 1, 1},
			{ptr("Other,Harbor"), 1, 1},
			{ptr("Harbor"), 0, 1},
			{ptr("SwrShared"), 0, 0},
		} {
			resp, err := c.ListRegistryStatistics(&model.ListRegistryStatisticsRequest{RegistryType: tc.types, EnterpriseProjectId: ptr("all_granted_eps")})
			if err != nil {
				t.Fatalf("ListRegistryStatistics(%v): %v", tc.types, err)
			}
			if resp.SuccessNum == nil || resp.FailNum == nil || *resp.SuccessNum != tc.success || *resp.FailNum != tc.fail {
				t.Errorf("ListRegistryStatistics(%v) = %v, want success %d fail %d", tc.types, resp, tc.success, tc.fail)
			}
		}
		_, err := c.ListRegistryStatistics(&model.ListRegistryStatisticsRequest{RegistryType: ptr("harbor")})
		wantSDKError(t, err, 400, "HSS.0001")
	})

	rows := func(t *testing.T) int32 {
		t.Helper()
		resp, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "private_image"})
		if err != nil {
			t.Fatal(err)
		}
		return *resp.TotalNum
	}
	batchDelete := func(c *hss.HssClient, ids ...string) error {
		_, err := c.BatchDeleteRegistry(&model.BatchDeleteRegistryRequest{Body: &model.BatchDeleteRegistryRequestBody{Ids: ids}})
		return err
	}
	t.Run("BatchDeleteRegistry refused", func(t *testing.T) {
		const other = "fedcba9876543210fedcba9876543210"
		oak, osk := srv.credential(t, other, "all")
		for _, tc := range []struct {
			name   string
			err    error
			status int
			code   string
		}{
			{"unknown id", batchDelete(c, good, "999999"), 404, "HSS.0011"},
			{"another project", batchDelete(srv.client(t, oak, osk, other), good), 404, "HSS.0011"},
			{"duplicate", batchDelete(c, good, good), 400, "HSS.0001"},
			{"empty", batchDelete(c), 400, "HSS.0001"},
			{"non-numeric", batchDelete(c, "good"), 400, "HSS.0001"},
		} {
			wantSDKError(t, tc.err, tc.status, tc.code)
		}
		if s := statuses(t, nil); len(s) != 3 || rows(t) != 1 {
			t.Fatalf("a refused batch delete changed something: %v, %d rows", s, rows(t))
		}
	})

	t.Run("BatchDeleteRegistry", func(t *testing.T) {
		if err := batchDelete(c, bad, good); err != nil {
			t.Fatalf("BatchDeleteRegistry: %v", err)
		}
		if s := statuses(t, nil); len(s) != 1 || s[slow] == "" {
			t.Fatalf("after the batch: %v, want only %s", s, slow)
		}
		if n := rows(t); n != 0 {
			t.Fatalf("%d rows of deleted connections remain", n)
		}
		if err := batchDelete(c, slow); err != nil {
			t.Fatalf("BatchDeleteRegistry(slow): %v", err)
		}
		if s := statuses(t, nil); len(s) != 0 {
			t.Fatalf("after deleting every connection: %v", s)
		}
	})
}
