package scimserver

import (
	"net/http"
	"strconv"
)

// resources serves /Users and /Groups.
func (h *handler) resources(w http.ResponseWriter, r *http.Request, k Kind, rest []string) error {
	id := ""
	if len(rest) == 1 {
		id = rest[0]
	}
	switch {
	case id == "" && r.Method == http.MethodGet:
		return h.list(w, r, k)
	case id == "" && r.Method == http.MethodPost:
		return h.create(w, r, k)
	case id == "":
		w.Header().Set("Allow", "GET, POST")
	case r.Method == http.MethodGet:
		return h.get(w, r, k, id)
	case r.Method == http.MethodPut:
		return h.replace(w, r, k, id)
	case r.Method == http.MethodPatch:
		return h.patch(w, r, k, id)
	case r.Method == http.MethodDelete:
		return h.delete(w, k, id)
	default:
		w.Header().Set("Allow", "GET, PUT, PATCH, DELETE")
	}
	return &scimError{status: http.StatusMethodNotAllowed, detail: r.Method + " not allowed here"}
}

func notFound(k Kind, id string) *scimError {
	return &scimError{status: http.StatusNotFound, detail: k.resourceType() + " " + id + " not found"}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request, k Kind) error {
	q := r.URL.Query()
	filter, needMeta, err := listFilter(k, q.Get("filter"))
	if err != nil {
		return err
	}
	start, count, err := paging(q.Get("startIndex"), q.Get("count"))
	if err != nil {
		return err
	}
	proj := newProjection(q.Get("attributes"), q.Get("excludedAttributes"))
	base := h.base(r)
	var page []object
	total := 0
	h.store.view(func(t *txn) {
		for _, rec := range t.all(k) {
			if filter != nil && !filter.match(filterable(k, rec, needMeta)) {
				continue
			}
			total++
			if total >= start && len(page) < count {
				page = append(page, render(k, rec, base, proj))
			}
		}
	})
	if page == nil {
		page = []object{}
	}
	writeJSON(w, http.StatusOK, object{"schemas": []string{listSchema}, "totalResults": total,
		"itemsPerPage": len(page), "startIndex": start, "Resources": page})
	return nil
}

// listFilter parses and checks a list's filter parameter; nil when there
// is none. needMeta tells that it reads meta.
func listFilter(k Kind, f string) (filter expr, needMeta bool, err error) {
	if f == "" {
		return nil, false, nil
	}
	if filter, err = parseFilter(f); err == nil {
		filter, needMeta, err = resolveFilter(k, filter)
	}
	if err != nil {
		return nil, false, badRequest("invalidFilter", "filter %q: %v", clip(f), err)
	}
	return filter, needMeta, nil
}

// filterable is what filters see: the attributes, id included, and meta
// when the filter reads it. Records keep their id among their attributes,
// so without meta this copies nothing; the copy is for records stored
// without it.
func filterable(k Kind, rec *record, needMeta bool) object {
	if needMeta {
		o := withMeta(k, rec, rec.Attrs)
		o["id"] = rec.ID
		return o
	}
	if _, ok := rec.Attrs["id"]; ok {
		return rec.Attrs
	}
	o := make(object, len(rec.Attrs)+1)
	for k, v := range rec.Attrs {
		o[k] = v
	}
	o["id"] = rec.ID
	return o
}

// paging reads startIndex (1-based; lower means 1) and count (capped,
// negative means 0), per RFC 7644 §3.4.2.4.
func paging(startS, countS string) (int, int, error) {
	start, count := 1, DefaultCount
	if startS != "" {
		n, err := strconv.Atoi(startS)
		if err != nil {
			return 0, 0, badRequest("invalidValue", "startIndex %q is not an integer", clip(startS))
		}
		start = max(n, 1)
	}
	if countS != "" {
		n, err := strconv.Atoi(countS)
		if err != nil {
			return 0, 0, badRequest("invalidValue", "count %q is not an integer", clip(countS))
		}
		count = min(max(n, 0), MaxCount)
	}
	return start, count, nil
}

func (h *handler) get(w http.ResponseWriter, r *http.Request, k Kind, id string) error {
	q := r.URL.Query()
	proj := newProjection(q.Get("attributes"), q.Get("excludedAttributes"))
	var out object
	h.store.view(func(t *txn) {
		if rec := t.get(k, id); rec != nil {
			out = render(k, rec, h.base(r), proj)
		}
	})
	if out == nil {
		return notFound(k, id)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// decodeResource reads a user or group from the request body, cleaned and
// checked (POST and PUT).
func decodeResource(r *http.Request, k Kind) (object, error) {
	var in object
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	attrs := clean(k, in)
	dedupeMembers(attrs)
	if err := validate(k, attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, k Kind) error {
	attrs, err := decodeResource(r, k)
	if err != nil {
		return err
	}
	var rec *record
	_, err = h.store.update(func(t *txn) error {
		if err := unique(t, k, "", attrs); err != nil {
			return err
		}
		rec = &record{ID: newID(), Seq: t.nextSeq(), Created: t.now, Modified: t.now, Attrs: attrs}
		attrs["id"] = rec.ID
		t.put(k, rec)
		return nil
	})
	if err != nil {
		return err
	}
	h.onChange()
	out := render(k, rec, h.base(r), projection{})
	w.Header().Set("Location", out["meta"].(object)["location"].(string))
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// unique refuses a second resource with the same userName (users) or
// displayName (groups), ignoring case; self is the resource being replaced.
func unique(t *txn, k Kind, self string, attrs object) error {
	key := uniqueKey(k, attrs)
	for _, rec := range t.s.data[k] {
		if rec.ID != self && uniqueKey(k, rec.Attrs) == key {
			return &scimError{status: http.StatusConflict, scimType: "uniqueness",
				detail: k.resourceType() + " with " + k.uniqueAttr() + " " + strconv.Quote(key) + " exists"}
		}
	}
	return nil
}

func (h *handler) replace(w http.ResponseWriter, r *http.Request, k Kind, id string) error {
	attrs, err := decodeResource(r, k)
	if err != nil {
		return err
	}
	rec, err := h.modify(k, id, func(object) (object, error) { return attrs, nil })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, render(k, rec, h.base(r), projection{}))
	return nil
}

// patch answers 200 with the user, and 204 for groups: RFC 7644 §3.5.2
// allows either, and a large group's body would be sent for nothing.
func (h *handler) patch(w http.ResponseWriter, r *http.Request, k Kind, id string) error {
	var req patchRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	rec, err := h.modify(k, id, func(cur object) (object, error) {
		o := copyForPatch(cur)
		if err := applyPatch(k, o, req.Operations); err != nil {
			return nil, err
		}
		o = clean(k, o)
		if err := validate(k, o); err != nil {
			return nil, err
		}
		return o, nil
	})
	if err != nil {
		return err
	}
	if k == Groups && r.URL.Query().Get("attributes") == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	q := r.URL.Query()
	writeJSON(w, http.StatusOK, render(k, rec, h.base(r), newProjection(q.Get("attributes"), q.Get("excludedAttributes"))))
	return nil
}

// modify replaces a resource's attributes with what fn makes of them.
func (h *handler) modify(k Kind, id string, fn func(cur object) (object, error)) (*record, error) {
	var rec *record
	changed, err := h.store.update(func(t *txn) error {
		cur := t.get(k, id)
		if cur == nil {
			return notFound(k, id)
		}
		attrs, err := fn(cur.Attrs)
		if err != nil {
			return err
		}
		attrs["id"] = id
		if err := unique(t, k, id, attrs); err != nil {
			return err
		}
		if equalJSON(cur.Attrs, attrs) {
			rec = cur
			return nil
		}
		rec = &record{ID: id, Seq: cur.Seq, Created: cur.Created, Modified: t.now, Attrs: attrs}
		t.put(k, rec)
		return nil
	})
	if changed {
		h.onChange()
	}
	return rec, err
}

// delete removes a resource; a deleted user also leaves every group.
func (h *handler) delete(w http.ResponseWriter, k Kind, id string) error {
	_, err := h.store.update(func(t *txn) error {
		if t.get(k, id) == nil {
			return notFound(k, id)
		}
		t.remove(k, id)
		for _, g := range t.all(Groups) {
			if rec := withoutMember(g, id, t); rec != nil {
				t.put(Groups, rec)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.onChange()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// withoutMember returns g without member id, or nil when id is not a member.
func withoutMember(g *record, id string, t *txn) *record {
	members, _ := get(g.Attrs, "members")
	list, ok := members.([]any)
	if !ok {
		return nil
	}
	keep := removeValues(list, []any{object{"value": id}})
	if len(keep) == len(list) {
		return nil
	}
	attrs := make(object, len(g.Attrs))
	for k, v := range g.Attrs {
		attrs[k] = v
	}
	set(attrs, "members", keep)
	return &record{ID: g.ID, Seq: g.Seq, Created: g.Created, Modified: t.now, Attrs: attrs}
}

func equalJSON(a, b object) bool { return equalValue(a, b) }
