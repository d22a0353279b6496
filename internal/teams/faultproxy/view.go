package faultproxy

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
)

// view is the API as the client sees it: the wrapped handler, minus the
// items Hide deleted.
type view struct{ p *Proxy }

func (v view) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hide := v.p.hiddenAt(r.URL.Path)
	if r.Method != http.MethodGet || len(hide) == 0 {
		v.p.next.ServeHTTP(w, r)
		return
	}
	v.p.repage(w, r, hide)
}

func (p *Proxy) hide(path string, ids []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hidden[path] == nil {
		p.hidden[path] = map[int]bool{}
	}
	for _, id := range ids {
		p.hidden[path][id] = true
	}
}

func (p *Proxy) hiddenAt(path string) map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hidden[path]
}

// page is one list answer, its members kept as they came.
type page map[string]json.RawMessage

// repage reads the whole collection from the API, leaves out the hidden
// ids and answers the page r asks for, cut as the API would cut it.
func (p *Proxy) repage(w http.ResponseWriter, r *http.Request, hide map[int]bool) {
	var first page
	var header http.Header
	var items []json.RawMessage
	for n := 1; ; n++ {
		rec := httptest.NewRecorder()
		p.next.ServeHTTP(rec, withPaging(r, n, 100))
		var pg page
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &pg) != nil {
			copyHeader(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		if first == nil {
			first, header = pg, rec.Header()
		}
		items = append(items, visible(pg["items"], hide)...)
		var pages int
		if json.Unmarshal(pg["totalPages"], &pages) != nil || n >= pages {
			break
		}
	}
	num, size := queryInt(r, "page", 1), queryInt(r, "pageSize", 15)
	pages := max(1, (len(items)+size-1)/size)
	cut := []json.RawMessage{}
	if start := (num - 1) * size; start < len(items) {
		cut = items[start:min(len(items), start+size)]
	}
	first["items"] = mustJSON(cut)
	first["totalCount"] = mustJSON(len(items))
	first["totalPages"] = mustJSON(pages)
	first["page"] = mustJSON(num)
	first["pageSize"] = mustJSON(size)
	copyHeader(w.Header(), header)
	w.WriteHeader(http.StatusOK)
	w.Write(mustJSON(first))
}

// visible returns the items of a page whose id is not hidden.
func visible(raw json.RawMessage, hide map[int]bool) []json.RawMessage {
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	out := items[:0]
	for _, it := range items {
		var id struct {
			ID int `json:"id"`
		}
		if json.Unmarshal(it, &id) == nil && hide[id.ID] {
			continue
		}
		out = append(out, it)
	}
	return out
}

// withPaging is r asking for page n of size items instead.
func withPaging(r *http.Request, n, size int) *http.Request {
	q := r.URL.Query()
	setQuery(q, "page", strconv.Itoa(n))
	setQuery(q, "pageSize", strconv.Itoa(size))
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}

// setQuery sets name, dropping other spellings of it: API v3 reads query
// names case-insensitively.
func setQuery(q url.Values, name, value string) {
	for k := range q {
		if strings.EqualFold(k, name) {
			delete(q, k)
		}
	}
	q.Set(name, value)
}

func queryInt(r *http.Request, name string, def int) int {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil && n > 0 {
				return n
			}
		}
	}
	return def
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
