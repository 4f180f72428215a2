package console

import (
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/openhss/openhss/internal/imagequery"
)

// The list pages' GET forms (Images, Tasks, Registries) read as the API's
// list routes read their queries: these are the pieces they share.

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

// pageLinks are the previous and next pages of a list at offset, limit
// rows a page, total rows: path with q and the offset set ("" when none).
func pageLinks(path string, q url.Values, offset, limit int, total int64) (prev, next string) {
	at := func(o int) string {
		p := url.Values{}
		for k, vs := range q {
			p[k] = slices.Clone(vs)
		}
		p.Set("offset", strconv.Itoa(o))
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
