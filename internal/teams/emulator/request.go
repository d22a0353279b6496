package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// problem answers a ProblemDetails body.
func (c *call) problem(status int, title, detail string) {
	c.json(status, problemJSON{
		Type:     "/v3/errors/" + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-"),
		Title:    title,
		Status:   status,
		Detail:   detail,
		Instance: c.r.URL.Path,
	})
}

func (c *call) badRequest(detail string) {
	c.problem(http.StatusBadRequest, "Invalid request", detail)
}

func (c *call) notFound(detail string) {
	c.problem(http.StatusNotFound, "Not found", detail)
}

func (c *call) json(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.w.WriteHeader(http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// query returns the first value of a query parameter, whose name matches
// case-insensitively (ASP.NET model binding: `pagesize` is `pageSize`).
// The raw query is read in order, so with both `pageSize` and `pagesize`
// the answer does not depend on map order.
func (c *call) query(name string) (string, bool) {
	for part := range strings.SplitSeq(c.r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil && strings.EqualFold(key, name) {
			return val, true
		}
	}
	return "", false
}

// pathID parses the i-th path parameter as an id (int32, >= 1).
func (c *call) pathID(i int, name string) (int, bool) {
	raw := unescape(c.args[i])
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 32)
	if err != nil || n < 1 {
		c.badRequest(fmt.Sprintf("The value '%s' is not valid for %s.", raw, name))
		return 0, false
	}
	return int(n), true
}

// readBody checks the content type and parses the JSON body. ASP.NET
// accepts the media types the spec lists for every body:
// application/json, application/json-patch+json, text/json and
// application/*+json; anything else is 415.
func (c *call) readBody() (any, []byte, bool) {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || !jsonMediaType(mt) {
		c.problem(http.StatusUnsupportedMediaType, "Unsupported Media Type",
			"Send the body as application/json, application/json-patch+json, text/json or application/*+json.")
		return nil, nil, false
	}
	data, err := io.ReadAll(io.LimitReader(c.r.Body, 10<<20))
	if err != nil {
		c.badRequest("The request body could not be read.")
		return nil, nil, false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		c.badRequest("A non-empty request body is required.")
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		c.badRequest("The request body is not valid JSON.")
		return nil, nil, false
	}
	return v, data, true
}

func jsonMediaType(mt string) bool {
	switch mt {
	case "application/json", "application/json-patch+json", "text/json":
		return true
	}
	return strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// idList reads a JSON array of ids: numbers or numeric strings (ASP.NET's
// web defaults read numbers from strings). A null list is nil, ok.
func idList(v any, field string) ([]int, error) {
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: the JSON value could not be converted to an array of integers", field)
	}
	ids := make([]int, 0, len(arr))
	for i, x := range arr {
		id, err := intValue(x)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func intValue(x any) (int, error) {
	var s string
	switch t := x.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, errors.New("the JSON value could not be converted to System.Int32")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("the JSON value %q could not be converted to System.Int32", s)
	}
	return int(n), nil
}

// object reads a JSON object whose property names match case-insensitively
// (System.Text.Json with ASP.NET's web defaults). When a property comes
// twice in two spellings the last one wins, as there; keys keeps the
// order of the body for that.
type object struct {
	values map[string]any
	keys   []string
}

// asObject reads v, decoded from body, as an object.
func asObject(v any, body []byte) (object, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return object{}, false
	}
	return object{values: m, keys: keyOrder(body)}, true
}

// keyOrder lists the top-level property names of a JSON object in order.
func keyOrder(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// get returns the value of a property (any case) and whether it is present.
func (o object) get(name string) (any, bool) {
	var val any
	found := false
	for _, k := range o.keys {
		if strings.EqualFold(k, name) {
			val, found = o.values[k], true
		}
	}
	return val, found
}

// str reads an optional string property; null and absent read as "".
func (o object) str(name string) (value string, present bool, err error) {
	v, ok := o.get(name)
	if !ok || v == nil {
		return "", ok, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, fmt.Errorf("%s: the JSON value could not be converted to System.String", name)
	}
	return s, true, nil
}

// paging is a list request's page, size, sort and order.
type paging struct {
	page, size  int
	sort, order string
}

// readPaging parses page, pageSize, sort and order; sorts lists the
// resource's sort values (the first is the default), defaultOrder the
// order used when none is given. Enum values bind case-insensitively.
func (c *call) readPaging(sorts []string, defaultOrder string) (paging, bool) {
	p := paging{page: 1, size: 15, sort: sorts[0], order: defaultOrder}
	if v, ok := c.query("page"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			c.badRequest(fmt.Sprintf("The value '%s' is not valid for page: it must be an integer of at least 1.", v))
			return p, false
		}
		p.page = int(n)
	}
	if v, ok := c.query("pageSize"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 15 && n != 30 && n != 50 && n != 100) {
			c.badRequest(fmt.Sprintf("The value '%s' is not valid for pageSize: use 15, 30, 50 or 100.", v))
			return p, false
		}
		p.size = n
	}
	if v, ok := c.query("sort"); ok {
		s, found := enumValue(v, sorts)
		if !found {
			c.badRequest(fmt.Sprintf("The value '%s' is not valid for sort: use one of %s.", v, strings.Join(sorts, ", ")))
			return p, false
		}
		p.sort = s
	}
	if v, ok := c.query("order"); ok {
		s, found := enumValue(v, []string{"asc", "desc"})
		if !found {
			c.badRequest(fmt.Sprintf("The value '%s' is not valid for order: use asc or desc.", v))
			return p, false
		}
		p.order = s
	}
	return p, true
}

func enumValue(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, true
		}
	}
	return "", false
}

// pageOf cuts one page out of all items, renders its items and builds
// the envelope. A page past the end is empty; an empty collection has
// emptyPages total pages.
func pageOf[T, U any](all []T, p paging, emptyPages int, render func(T) U) pageJSON[U] {
	total := len(all)
	pages := (total + p.size - 1) / p.size
	if total == 0 {
		pages = emptyPages
	}
	var page []T
	if start := (p.page - 1) * p.size; start < total {
		page = all[start:min(total, start+p.size)]
	}
	items := make([]U, 0, len(page))
	for _, it := range page {
		items = append(items, render(it))
	}
	return pageJSON[U]{TotalCount: total, PageSize: p.size, Page: p.page, TotalPages: pages,
		Sort: p.sort, Order: p.order, Items: items}
}
