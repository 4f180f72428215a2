package registryquery_test

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registryquery"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  inventory.RegistryFilter
	}{
		{"", inventory.RegistryFilter{Limit: 10}},
		{"registry_name=h&registry_addr=r.example&registry_id=12&registry_type=Jfrog&status=accessing&offset=3&limit=200",
			inventory.RegistryFilter{Name: "h", Addr: "r.example", ID: 12, Type: "Jfrog",
				Statuses: inventory.StoredRegistryStatuses("accessing"), Offset: 3, Limit: 200}},
	} {
		v, _ := url.ParseQuery(tc.query)
		l, perr := registryquery.Parse(v)
		if perr != nil || !reflect.DeepEqual(l.Filter, tc.want) {
			t.Errorf("%s: %+v %v, want %+v", tc.query, l.Filter, perr, tc.want)
		}
	}
	for query, param := range map[string]string{
		"registry_id=012":                 "registry_id",
		"registry_id=-1":                  "registry_id",
		"registry_type=Quay":              "registry_type",
		"status=syncing":                  "status",
		"limit=0":                         "limit",
		"registry_name=a&registry_name=b": "registry_name",
	} {
		v, _ := url.ParseQuery(query)
		if _, perr := registryquery.Parse(v); perr == nil || perr.Name != param {
			t.Errorf("%s: %v, want a refused %s", query, perr, param)
		}
	}
}
