package scimserver

import (
	"encoding/json"
	"fmt"
	"strings"
)

// patchRequest is RFC 7644 §3.5.2's PatchOp message.
type patchRequest struct {
	Schemas    []string    `json:"schemas"`
	Operations []operation `json:"Operations"`
}

type operation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// scimError is an error with its RFC 7644 §3.12 status and scimType.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string { return e.detail }

func badRequest(scimType, format string, args ...any) *scimError {
	return &scimError{status: 400, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// readOnly attributes are owned by the store; PATCH leaves them alone
// (Okta repeats "id" in its replace values).
var readOnly = map[string]bool{"id": true, "meta": true, "schemas": true}

// ignored reports whether a received attribute of a k resource is
// dropped: the read-only ones, and a user's groups, which RFC 7643 §4.1.2
// makes read-only (membership changes go through the Group resource) and
// RFC 7644 §3.3 says to ignore on input (Okta sends "groups": [] on
// create). The receiver does not compute it: it is never displayed.
func ignored(k Kind, attr string) bool {
	a := strings.ToLower(attr)
	return readOnly[a] || (k == Users && a == "groups")
}

// applyPatch applies ops to o, a resource of kind k, in order. Op names
// are case-insensitive ("Add", "Replace", "Remove" from Entra ID). A path
// that is not an attribute of k's schemas fails the whole PATCH.
func applyPatch(k Kind, o object, ops []operation) error {
	if len(ops) == 0 {
		return badRequest("invalidValue", "no Operations")
	}
	for i, op := range ops {
		if err := applyOp(k, o, op); err != nil {
			if se, ok := err.(*scimError); ok {
				se.detail = fmt.Sprintf("operation %d (%s): %s", i+1, describeOp(op), se.detail)
				return se
			}
			return err
		}
	}
	return nil
}

// describeOp names an operation in an error: "Replace active", or
// "Replace without path".
func describeOp(op operation) string {
	if op.Path == "" {
		return clip(op.Op) + " without path"
	}
	return clip(op.Op) + " " + clip(op.Path)
}

func applyOp(k Kind, o object, op operation) error {
	var value any
	if len(op.Value) > 0 {
		if err := json.Unmarshal(op.Value, &value); err != nil {
			return badRequest("invalidSyntax", "value: %v", err)
		}
	}
	kind := strings.ToLower(op.Op)
	if kind != "add" && kind != "replace" && kind != "remove" {
		return badRequest("invalidSyntax", "unknown op %q", clip(op.Op))
	}
	if op.Path == "" {
		if kind == "remove" {
			return badRequest("noTarget", "remove needs a path")
		}
		attrs, ok := value.(object)
		if !ok {
			return badRequest("invalidValue", "an op without path needs an object value")
		}
		for key, v := range attrs {
			if err := applyPath(k, o, kind, key, v); err != nil {
				if se, ok := err.(*scimError); ok {
					se.detail = fmt.Sprintf("key %q: %s", clip(key), se.detail)
				}
				return err
			}
		}
		return nil
	}
	return applyPath(k, o, kind, op.Path, value)
}

func applyPath(k Kind, o object, kind, path string, value any) error {
	if isSchemaURN(path) {
		return applyExtension(k, o, kind, path, value)
	}
	p, err := parsePatchPath(path)
	if err != nil {
		return badRequest("invalidPath", "%v", err)
	}
	if p.schema == "" && ignored(k, p.attr) {
		return nil
	}
	if err := checkPath(k, p, value); err != nil {
		return err
	}
	target := o
	if p.schema != "" {
		ext, _ := get(o, p.schema)
		m, ok := ext.(object)
		if !ok {
			if kind == "remove" {
				return nil
			}
			m = object{}
			set(o, p.schema, m)
		}
		target = m
	}
	if kind == "remove" {
		return remove(target, p, value)
	}
	if value == nil {
		return badRequest("invalidValue", "%s without a value", kind)
	}
	if p.filter != nil {
		return setFiltered(target, kind, p, value)
	}
	if p.sub != "" {
		return setSub(target, p, value)
	}
	setAttr(target, kind, p.attr, value)
	return nil
}

// isSchemaURN reports whether path names a whole schema rather than one
// of its attributes: a URN ending in a resource type, as extension
// schemas do (urn:...:enterprise:2.0:User).
func isSchemaURN(path string) bool {
	if !strings.HasPrefix(strings.ToLower(path), "urn:") {
		return false
	}
	last := path[strings.LastIndexByte(path, ':')+1:]
	return strings.EqualFold(last, "User") || strings.EqualFold(last, "Group")
}

// applyExtension handles a whole extension as the target
// ({"urn:...:enterprise:2.0:User": {"department": "Ops"}} in a PATCH
// without path): each of its keys is an attribute path of the extension.
func applyExtension(k Kind, o object, kind, schema string, value any) error {
	if err := checkSchema(k, schema); err != nil {
		return err
	}
	if kind == "remove" {
		del(o, schema)
		return nil
	}
	attrs, ok := value.(object)
	if !ok {
		return badRequest("invalidValue", "%s needs an object value", clip(schema))
	}
	for key, v := range attrs {
		if err := applyPath(k, o, kind, schema+":"+key, v); err != nil {
			return err
		}
	}
	return nil
}

// multiValued are the RFC 7643 multi-valued attributes of User and Group.
var multiValued = map[string]bool{
	"emails": true, "phonenumbers": true, "ims": true, "photos": true, "addresses": true,
	"groups": true, "entitlements": true, "roles": true, "x509certificates": true, "members": true,
}

// setAttr adds or replaces a whole attribute. add appends to multi-valued
// attributes (skipping elements already there) and merges complex ones.
func setAttr(o object, kind, attr string, value any) {
	old, _ := get(o, attr)
	oldList, isList := old.([]any)
	if multiValued[strings.ToLower(attr)] || isList {
		add := elements(value)
		if kind == "replace" {
			if strings.EqualFold(attr, "members") {
				set(o, attr, appendUnique(nil, add))
			} else {
				set(o, attr, append([]any{}, add...))
			}
			return
		}
		set(o, attr, appendUnique(oldList, add))
		return
	}
	if oldObj, ok := old.(object); ok {
		if newObj, ok := value.(object); ok {
			for k, v := range newObj {
				set(oldObj, k, v)
			}
			return
		}
	}
	set(o, attr, value)
}

// appendUnique appends elements not already present; elements with a
// "value" (members, emails) are the same when their values are.
func appendUnique(list, add []any) []any {
	seen := map[string]bool{}
	for _, el := range list {
		if k, ok := valueKey(el); ok {
			seen[k] = true
		}
	}
	for _, el := range add {
		if k, ok := valueKey(el); ok {
			if seen[k] {
				continue
			}
			seen[k] = true
		} else if containsEqual(list, el) {
			continue
		}
		list = append(list, el)
	}
	return list
}

func valueKey(el any) (string, bool) {
	m, ok := el.(object)
	if !ok {
		return "", false
	}
	v, ok := get(m, "value")
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func containsEqual(list []any, el any) bool {
	for _, x := range list {
		if equalValue(x, el) {
			return true
		}
	}
	return false
}

// setSub sets name.givenName-style sub-attributes (on every element when
// the attribute is multi-valued).
func setSub(o object, p patchPath, value any) error {
	cur, _ := get(o, p.attr)
	switch x := cur.(type) {
	case nil:
		set(o, p.attr, object{p.sub: value})
	case object:
		set(x, p.sub, value)
	case []any:
		for i, el := range x {
			if m, ok := el.(object); ok {
				m = copyElement(m)
				set(m, p.sub, value)
				x[i] = m
			}
		}
	default:
		return badRequest("invalidPath", "%s is not complex", p.attr)
	}
	return nil
}

// setFiltered handles emails[type eq "work"].value and members[value eq
// "x"]. When nothing matches and the filter is plain equalities, the
// element is created: Entra ID replaces emails[type eq "work"].value on
// users that have no work address yet.
func setFiltered(o object, kind string, p patchPath, value any) error {
	cur, _ := get(o, p.attr)
	list := elements(cur)
	matched := false
	for i, el := range list {
		m, ok := el.(object)
		if !ok || !p.filter.match(m) {
			continue
		}
		matched = true
		m = copyElement(m)
		list[i] = m
		switch {
		case p.sub != "":
			set(m, p.sub, value)
		case kind == "replace":
			list[i] = value
		default:
			if nv, ok := value.(object); ok {
				for k, v := range nv {
					set(m, k, v)
				}
			}
		}
	}
	if !matched {
		el, ok := equalities(p.filter)
		if !ok {
			return badRequest("noTarget", "no %s element matches the filter", p.attr)
		}
		if p.sub != "" {
			set(el, p.sub, value)
		} else if nv, ok := value.(object); ok {
			for k, v := range nv {
				set(el, k, v)
			}
		}
		list = append(list, el)
	}
	set(o, p.attr, list)
	return nil
}

// equalities turns `a eq "x" and b eq "y"` into {a: x, b: y}.
func equalities(e expr) (object, bool) {
	switch x := e.(type) {
	case compare:
		if x.op != "eq" || x.path.sub != "" || x.path.schema != "" {
			return nil, false
		}
		return object{x.path.attr: x.val}, true
	case and:
		l, ok1 := equalities(x.l)
		r, ok2 := equalities(x.r)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

// remove deletes the target. Removing members with a value array (Entra
// ID's form) removes those members; removing something absent is a no-op.
func remove(o object, p patchPath, value any) error {
	cur, ok := get(o, p.attr)
	if !ok {
		return nil
	}
	list, isList := cur.([]any)
	switch {
	case p.filter != nil:
		if !isList {
			return badRequest("invalidPath", "%s is not multi-valued", p.attr)
		}
		keep := list[:0:0]
		for _, el := range list {
			m, ok := el.(object)
			if ok && p.filter.match(m) {
				if p.sub == "" {
					continue
				}
				m = copyElement(m)
				del(m, p.sub)
				el = m
			}
			keep = append(keep, el)
		}
		set(o, p.attr, keep)
	case p.sub != "" && isList:
		for i, el := range list {
			if m, ok := el.(object); ok {
				m = copyElement(m)
				del(m, p.sub)
				list[i] = m
			}
		}
	case p.sub != "":
		if m, ok := cur.(object); ok {
			del(m, p.sub)
		}
	case isList && value != nil:
		set(o, p.attr, removeValues(list, elements(value)))
	default:
		del(o, p.attr)
	}
	return nil
}

func removeValues(list, gone []any) []any {
	drop := map[string]bool{}
	for _, g := range gone {
		if k, ok := valueKey(g); ok {
			drop[k] = true
		}
	}
	keep := list[:0:0]
	for _, el := range list {
		if k, ok := valueKey(el); ok && drop[k] {
			continue
		}
		if _, ok := valueKey(el); !ok && containsEqual(gone, el) {
			continue
		}
		keep = append(keep, el)
	}
	return keep
}
