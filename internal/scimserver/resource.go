package scimserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Schema URNs (RFC 7643 §8.7.1, RFC 7644 §3).
const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	listSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorSchema      = "urn:ietf:params:scim:api:messages:2.0:Error"
	patchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	spcSchema        = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	rtSchema         = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

func (k Kind) schema() string {
	if k == Groups {
		return groupSchema
	}
	return userSchema
}

func (k Kind) resourceType() string {
	if k == Groups {
		return "Group"
	}
	return "User"
}

// uniqueAttr is the attribute that must be unique (case-insensitively)
// within a kind: userName for users (RFC 7643 §4.1), and displayName for
// groups, because syncd's mappings find groups by name.
func (k Kind) uniqueAttr() string {
	if k == Groups {
		return "displayName"
	}
	return "userName"
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// clean prepares attributes received from a client for storage: id, meta
// and schemas belong to the store; booleans sent as strings ("True",
// Entra ID) become booleans; JSON nulls are dropped. Members are not
// deduplicated here: decodeResource does it for POST and PUT bodies, and
// PATCH adds and replaces members without duplicates (setAttr).
func clean(k Kind, o object) object {
	for key, v := range o {
		// password: Okta sends one on create; syncd has no use for it
		// and never keeps it.
		if ignored(k, key) || strings.EqualFold(key, "password") || v == nil {
			delete(o, key)
		}
	}
	if v, ok := get(o, "active"); ok {
		if b, ok := asBool(v); ok {
			set(o, "active", b)
		}
	}
	for _, v := range o {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		for i, el := range list {
			list[i] = cleanElement(el)
		}
	}
	return o
}

// dedupeMembers drops repeated members (by value) from a received resource.
func dedupeMembers(o object) {
	if list, ok := get(o, "members"); ok {
		if l, ok := list.([]any); ok {
			set(o, "members", appendUnique(nil, l))
		}
	}
}

// cleanElement returns el without null sub-attributes and with "primary"
// as a boolean. Elements may be shared with a stored record (see
// copyForPatch), so one that needs a change is copied, never changed.
func cleanElement(el any) any {
	m, ok := el.(object)
	if !ok || !needsCleaning(m) {
		return el
	}
	c := make(object, len(m))
	for k, v := range m {
		switch {
		case v == nil:
		case strings.EqualFold(k, "primary"):
			if b, ok := asBool(v); ok {
				v = b
			}
			c[k] = v
		default:
			c[k] = v
		}
	}
	return c
}

func needsCleaning(m object) bool {
	for k, v := range m {
		if v == nil {
			return true
		}
		if _, isBool := v.(bool); !isBool && strings.EqualFold(k, "primary") {
			return true
		}
	}
	return false
}

// validate checks what the receiver needs: the unique attribute present
// as a non-empty string; for users, active a boolean and emails {value}
// objects; for groups, members {value} objects. A wrong type is refused
// (RFC 7644 §3.12 invalidValue) rather than stored: syncd reads active and
// emails to decide who is in a Teams group.
func validate(k Kind, o object) *scimError {
	attr := k.uniqueAttr()
	v, _ := get(o, attr)
	if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
		return badRequest("invalidValue", "%s is required", attr)
	}
	if k != Groups {
		return validateUser(o)
	}
	members, _ := get(o, "members")
	if members != nil {
		if _, ok := members.([]any); !ok {
			return badRequest("invalidValue", "members must be an array")
		}
	}
	for _, m := range elements(members) {
		if key, ok := valueKey(m); !ok || key == "" {
			return badRequest("invalidValue", "every member needs a string value")
		}
	}
	return nil
}

// validateUser checks the attributes syncd reads from a user. clean has
// already turned "True"/"False" into booleans.
func validateUser(o object) *scimError {
	if v, ok := get(o, "active"); ok {
		if _, isBool := v.(bool); !isBool {
			return badRequest("invalidValue", "active must be a boolean (true or false; the strings \"True\" and \"False\" are accepted), not %s", clip(jsonText(v)))
		}
	}
	emails, ok := get(o, "emails")
	if !ok {
		return nil
	}
	list, ok := emails.([]any)
	if !ok {
		return badRequest("invalidValue", "emails must be an array of objects, not %s", clip(jsonText(emails)))
	}
	for i, el := range list {
		m, ok := el.(object)
		if !ok {
			return badRequest("invalidValue", "emails[%d] must be an object, not %s", i, clip(jsonText(el)))
		}
		if v, ok := get(m, "value"); !ok || !isString(v) {
			return badRequest("invalidValue", "emails[%d] needs a string value", i)
		}
	}
	return nil
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// jsonText shows a received value in an error as the client wrote it.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func uniqueKey(k Kind, o object) string {
	v, _ := get(o, k.uniqueAttr())
	s, _ := v.(string)
	return strings.ToLower(strings.TrimSpace(s))
}

// render builds the resource a client sees: attributes plus id, schemas
// and meta, projected by the attributes/excludedAttributes parameters.
// Unassigned attributes (null, an empty list: RFC 7643 §2.5) are left
// out, as is a user's groups stored before it was ignored on input.
func render(k Kind, r *record, base string, proj projection) object {
	out := make(object, len(r.Attrs)+3)
	for key, v := range r.Attrs {
		if proj.keep(key) && !unassigned(v) && !ignored(k, key) {
			out[key] = v
		}
	}
	schemas := []any{k.schema()}
	var ext []string
	for key := range r.Attrs {
		if strings.HasPrefix(strings.ToLower(key), "urn:") {
			ext = append(ext, key)
		}
	}
	sort.Strings(ext)
	for _, e := range ext {
		schemas = append(schemas, e)
	}
	out["id"] = r.ID
	out["schemas"] = schemas
	out["meta"] = object{
		"resourceType": k.resourceType(),
		"created":      r.Created.Format(time.RFC3339Nano),
		"lastModified": r.Modified.Format(time.RFC3339Nano),
		"location":     base + "/" + string(k) + "/" + r.ID,
	}
	return out
}

func unassigned(v any) bool {
	list, isList := v.([]any)
	return v == nil || isList && len(list) == 0
}

// projection is RFC 7644 §3.4.2.5's attributes / excludedAttributes, on
// top-level attributes (name.givenName keeps all of name).
type projection struct {
	only    map[string]bool
	exclude map[string]bool
}

func newProjection(attributes, excluded string) projection {
	split := func(s string) map[string]bool {
		if s == "" {
			return nil
		}
		m := map[string]bool{}
		for _, a := range strings.Split(s, ",") {
			p, err := parseAttrPath(strings.TrimSpace(a))
			if err != nil {
				continue
			}
			key := p.attr
			if p.schema != "" {
				key = p.schema
			}
			m[strings.ToLower(key)] = true
		}
		return m
	}
	return projection{only: split(attributes), exclude: split(excluded)}
}

func (p projection) keep(attr string) bool {
	a := strings.ToLower(attr)
	if p.only != nil {
		return p.only[a]
	}
	return !p.exclude[a]
}

// copyForPatch copies a stored resource for a PATCH to work on. The
// elements of multi-valued attributes are shared, not copied: a group's
// thousands of members would otherwise be copied on every membership
// change. The PATCH code therefore never changes such an element in place;
// it replaces it with a changed copy (copyElement).
func copyForPatch(o object) object {
	c := make(object, len(o))
	for k, v := range o {
		switch x := v.(type) {
		case []any:
			c[k] = append([]any(nil), x...)
		default:
			c[k] = deepCopy(x)
		}
	}
	return c
}

// copyElement returns a copy of one element of a multi-valued attribute
// (shallow: its own values are replaced, not changed, by PATCH).
func copyElement(m object) object {
	c := make(object, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch x := v.(type) {
	case object:
		m := make(object, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// equalValue compares decoded JSON values, several times faster than
// reflect.DeepEqual on maps of interfaces (a large group is compared on
// every PATCH).
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case object:
		y, ok := b.(object)
		if !ok || len(x) != len(y) {
			return false
		}
		if sameMap(x, y) {
			return true // shared by copyForPatch
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap(a, b object) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
