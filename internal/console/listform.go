package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/imagequery"
)

// The list pages' GET forms (Images, Tasks, Registries) read as the API's
// list routes read their queries: these are the pieces they share.

// listSpec is what sets a list page's GET form apart from its API list
// route's query: the page's own parameters, its date inputs and the
// values the page assumes where the API would refuse or read the query
// otherwise. A list page writes its spec; listSpec.query does the rest.
type listSpec struct {
	own      []string          // the page's parameters the API does not read (a done message)
	dates    []dateField       // the form's date inputs
	defaults map[string]string // a parameter's value when the form gives none
}

// query is the page's query as the API's list reads it: empty fields
// dropped (an empty field means "no condition"), the page's own
// parameters left out, each default set unless given, and each date field
// turned into its API time parameter (replacing it). The page and the
// API's list route with this query ask the store the same question
// (docs/console.md). A date that is not one is refused in the API's
// words, with the query read so far, for the form to show.
func (s listSpec) query(in url.Values) (url.Values, *imagequery.ParamError) {
	q := formValues(in)
	for _, k := range s.own {
		q.Del(k)
	}
	for k, v := range s.defaults {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	return q, applyDates(q, s.dates)
}

// formValues is a form's query with its empty fields dropped: an empty
// field means "no condition", where the API would refuse an empty value.
func formValues(in url.Values) url.Values {
	q := url.Values{}
	for k, vs := range in {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	return q
}

// dateLayout is the value of an <input type="date">.
const dateLayout = "2006-01-02"

// dateField is a date input of a list form and the API time parameter
// (milliseconds) it stands for: the first millisecond of the day (UTC) for
// a start, the last one for an end, so a range of days includes both.
type dateField struct {
	Field, Param string
	End          bool
}

// applyDates replaces each date field of q by its API time parameter. A
// value that is not one date is refused in the API's words.
func applyDates(q url.Values, fields []dateField) *imagequery.ParamError {
	for _, d := range fields {
		vs, ok := q[d.Field]
		if !ok {
			continue
		}
		q.Del(d.Field)
		if len(vs) > 1 {
			return imagequery.Invalid(d.Field, "given more than once")
		}
		day, err := time.Parse(dateLayout, vs[0])
		if err != nil {
			return imagequery.Invalid(d.Field, "must be a date (YYYY-MM-DD)")
		}
		ms := day.UnixMilli()
		if d.End {
			ms = day.AddDate(0, 0, 1).UnixMilli() - 1
		}
		if ms < 0 {
			return imagequery.Invalid(d.Field, "must be 1970-01-01 or later")
		}
		q.Set(d.Param, strconv.FormatInt(ms, 10))
	}
	return nil
}

// formDates are the date fields' values for the form: the day (UTC) of
// each time parameter of q, so a URL holding the API's own parameters
// shows the same dates.
func formDates(q url.Values, fields []dateField) map[string]string {
	out := map[string]string{}
	for _, d := range fields {
		if ms, err := strconv.ParseInt(q.Get(d.Param), 10, 64); err == nil && ms >= 0 {
			out[d.Field] = time.UnixMilli(ms).UTC().Format(dateLayout)
		}
	}
	return out
}

// listScope is the enterprise projects a list's enterprise_project_id
// (ep) names within the session's grant (nil: the grant is All), as the
// API scopes its lists; a refusal is the message to show (a 400).
func (s *session) listScope(ep string) ([]string, string) {
	eps, err := s.principal.EnterpriseProjects(ep)
	if err != nil {
		return nil, "enterprise project: " + err.Error()
	}
	return eps, ""
}

// pager is a list page's count and links: the list's total_num, the
// rows shown (From to To, from 1; 0 when none) and the previous and next
// pages ("" when none), as the list templates show them.
type pager struct {
	Total      int64
	From, To   int
	Prev, Next string
}

// newPager is the pager of a list at path with query q showing rows rows
// from offset, limit a page, of total.
func newPager(path string, q url.Values, offset, limit, rows int, total int64) pager {
	p := pager{Total: total}
	if rows > 0 {
		p.From, p.To = offset+1, offset+rows
	}
	p.Prev, p.Next = pageLinks(path, q, offset, limit, total)
	return p
}

// pageLinks are the previous and next pages of a list at offset, limit
// rows a page, total rows: path with q and the offset set ("" when none).
// The first page's link has no offset, so it is the list's own URL.
func pageLinks(path string, q url.Values, offset, limit int, total int64) (prev, next string) {
	return pageLinksOf(path, q, "offset", offset, limit, total)
}

// pageLinksOf is pageLinks of a list whose offset is the parameter param:
// a page can hold a list within its own page (a baseline's rules within
// the page of baselines), each paged by its own parameter.
func pageLinksOf(path string, q url.Values, param string, offset, limit int, total int64) (prev, next string) {
	at := func(o int) string {
		p := url.Values{}
		for k, vs := range q {
			p[k] = slices.Clone(vs)
		}
		p.Del(param)
		if o > 0 {
			p.Set(param, strconv.Itoa(o))
		}
		if len(p) == 0 {
			return path
		}
		return path + "?" + p.Encode()
	}
	if offset > 0 {
		prev = at(max(0, offset-limit))
	}
	if int64(offset+limit) < total {
		next = at(offset + limit)
	}
	return prev, next
}

// The list pages' POST forms (Scan selected, Delete selected) act on the
// rows checked on the page and return to it.

// selectedIDs reads the ids of the rows checked on a list page (the form's
// id fields), each once, in order. None, or more than a page of the API's
// (imagequery.MaxLimit), is a 400 ("Select at least one image to scan.",
// "Select at most 200 images."); an id that is not one (imagequery.ParseID)
// is a 404, so the caller acts on none. false: the answer is written.
func (c *Console) selectedIDs(w http.ResponseWriter, r *http.Request, s *session, one, many, action string) ([]int64, bool) {
	texts := r.PostForm["id"]
	switch {
	case len(texts) == 0:
		c.badRequest(w, r, s, "Select at least one "+one+" to "+action+".")
		return nil, false
	case len(texts) > imagequery.MaxLimit:
		c.badRequest(w, r, s, fmt.Sprintf("Select at most %d %s.", imagequery.MaxLimit, many))
		return nil, false
	}
	ids := make([]int64, 0, len(texts))
	seen := map[int64]bool{}
	for _, t := range texts {
		id, ok := imagequery.ParseID(t)
		if !ok {
			c.notFound(w, r, s, strings.ToUpper(one[:1])+one[1:])
			return nil, false
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, true
}

// backToList is where a list's form returns: the list (its path list) it
// came from, never another site or page.
func backToList(back, list string) string {
	if !strings.HasPrefix(back, list+"?") && back != list {
		return list
	}
	return back
}
