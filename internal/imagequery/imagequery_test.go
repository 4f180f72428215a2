package imagequery

import (
	"net/url"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		err         string // "" when accepted
		check       func(t *testing.T, l List)
	}{
		{"defaults", "image_type=private_image", "", func(t *testing.T, l List) {
			if l.Filter.Type != inventory.PrivateImage || l.Filter.Limit != DefaultLimit || l.Filter.Offset != 0 || l.Filter.LatestVersionOnly {
				t.Errorf("filter %+v", l.Filter)
			}
		}},
		{"filters", "image_type=local_image&namespace=ns&image_name=n&latest_version=true&has_vul=false&limit=200&offset=5&enterprise_project_id=ep1",
			"", func(t *testing.T, l List) {
				f := l.Filter
				if f.Namespace != "ns" || f.ImageName != "n" || !f.LatestVersionOnly || f.HasVul == nil || *f.HasVul || f.Limit != 200 ||
					f.Offset != 5 || l.EnterpriseProject != "ep1" {
					t.Errorf("filter %+v, enterprise project %q", f, l.EnterpriseProject)
				}
			}},
		{"no type", "namespace=x", "invalid parameter image_type: is required (private_image, shared_image, local_image or instance_image)", nil},
		{"bad type", "image_type=x", "invalid parameter image_type: must be private_image, shared_image, local_image or instance_image", nil},
		{"twice", "image_type=private_image&namespace=a&namespace=b", "invalid parameter namespace: given more than once", nil},
		{"empty status", "image_type=private_image&scan_status=", "invalid parameter scan_status: must be one of unscan, waiting_for_scan, scanning, success, failed, download_failed, image_oversized", nil},
		{"empty boolean", "image_type=private_image&has_vul=", "invalid parameter has_vul: must be true or false", nil},
		{"limit 0", "image_type=private_image&limit=0", "invalid parameter limit: must be an integer between 1 and 200", nil},
		{"signed offset", "image_type=private_image&offset=+1", "invalid parameter offset: must be an integer between 0 and 2000000", nil},
		{"NUL", "image_type=private_image&image_name=a%00b", "invalid parameter image_name: contains a NUL character", nil},
		{"range", "image_type=private_image&start_latest_scan_time=5&end_latest_scan_time=4", "invalid parameter start_latest_scan_time: is after end_latest_scan_time", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			l, perr := ParseList(v)
			switch {
			case tc.err == "" && perr != nil:
				t.Fatalf("refused: %v", perr)
			case tc.err != "" && (perr == nil || perr.Error() != tc.err):
				t.Fatalf("error %v, want %q", perr, tc.err)
			case tc.check != nil:
				tc.check(t, l)
			}
		})
	}
}

// TestReaderFail: a caller's own refusal (Fail) and the reads' refusals
// answer in the order of reading; the first one stays, and reads after it
// read nothing.
func TestReaderFail(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		err         string
	}{
		{"fail first", "a=x&b=1", "invalid parameter a: refused by the caller"},
		{"read error first", "a=x&a=y&b=1", "invalid parameter a: given more than once"},
		{"fail before a bad read", "a=x&b=no", "invalid parameter a: refused by the caller"},
		{"nothing refused", "a=ok&b=1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q := &Reader{V: v}
			if a := q.Text("a", MaxFilterLen); a != "ok" {
				q.Fail("a", "refused by %s", "the caller")
			}
			b := q.Integer("b", 0, 9)
			switch {
			case tc.err == "" && q.Err != nil:
				t.Fatalf("refused: %v", q.Err)
			case tc.err != "" && (q.Err == nil || q.Err.Error() != tc.err):
				t.Fatalf("error %v, want %q", q.Err, tc.err)
			case tc.err != "" && b != nil:
				t.Errorf("b read as %d after the error", *b)
			}
		})
	}
}
