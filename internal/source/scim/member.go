package scim

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrUnidentifiedMember marks a group member entry the reader cannot tie
// to a user or group: no value and no usable $ref, or a $ref that
// contradicts the entry's type. Dropping it would shrink the group (and
// remove that person from Teams), so the group is unknown instead.
var ErrUnidentifiedMember = errors.New("member cannot be identified")

// memberID returns the id and lower-case type ("user", "group", or what
// the server wrote, possibly "") of a member entry, or why it names no
// resource. RFC 7643 §4.2 does not require "value": a provider may name
// the member by "$ref" alone, whose last path segment is then the id and
// whose Users/ or Groups/ segment is the type.
func memberID(m ref) (id, typ, why string) {
	typ = strings.ToLower(m.Type)
	refID, refType, refWhy := parseRef(m.Ref)
	if m.Value != "" {
		if typ == "" && refWhy == "" {
			typ = refType
		}
		return m.Value, typ, ""
	}
	switch {
	case m.Ref == "":
		return "", "", "no value (missing, null or empty) and no $ref"
	case refWhy != "":
		return "", "", "no value, and " + refWhy
	case (typ == "user" || typ == "group") && typ != refType:
		return "", "", fmt.Sprintf("no value, and type %q contradicts $ref %q", m.Type, m.Ref)
	}
	return refID, refType, ""
}

// parseRef reads a member's $ref: an absolute or relative URI whose path
// ends in Users/{id} or Groups/{id} (RFC 7643 §2.3.7, §4.2). why is set
// when ref is empty or another kind of URI.
func parseRef(ref string) (id, typ, why string) {
	if ref == "" {
		return "", "", "no $ref"
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", fmt.Sprintf("$ref %q is not a URI", ref)
	}
	// The escaped path keeps an id holding an escaped "/" in one segment.
	segs := strings.Split(strings.TrimSuffix(u.EscapedPath(), "/"), "/")
	if len(segs) >= 2 {
		id, err = url.PathUnescape(segs[len(segs)-1])
		switch kind := strings.ToLower(segs[len(segs)-2]); {
		case err != nil || id == "":
		case kind == "users":
			return id, "user", ""
		case kind == "groups":
			return id, "group", ""
		}
	}
	return "", "", fmt.Sprintf("$ref %q does not end in Users/{id} or Groups/{id}", ref)
}
