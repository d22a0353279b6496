package scimserver

import (
	"strings"
	"time"
)

// A filter that parses may still name what the receiver cannot evaluate:
// an attribute the resource does not have, a complex attribute compared
// as a whole, a sub-attribute of a simple one. Evaluated anyway, such a
// filter matches nothing, and a client reads "no such resource" where it
// asked something the receiver does not understand (Entra ID's membership
// check `members eq "id"` answered "not a member"). RFC 7644 §3.4.2.2
// answers those with 400 invalidFilter; resolveFilter finds them before
// any resource is looked at, and rewrites what has a standard reading.

// metaSubs are the meta sub-attributes filters can use (RFC 7643 §3.1);
// created and lastModified compare as date-times.
var metaSubs = map[string]bool{"resourcetype": true, "created": true, "lastmodified": true}

// filterCheck resolves one filter for kind k.
type filterCheck struct {
	k        Kind
	needMeta bool // the filter reads meta: resources are evaluated with it
}

// resolveFilter checks e against k's attributes and returns the filter to
// evaluate, and whether it reads meta. Errors are parse errors
// (invalidFilter).
func resolveFilter(k Kind, e expr) (expr, bool, error) {
	c := &filterCheck{k: k}
	out, err := c.expr(e)
	return out, c.needMeta, err
}

func (c *filterCheck) expr(e expr) (expr, error) {
	switch x := e.(type) {
	case and:
		l, r, err := c.pair(x.l, x.r)
		return and{l, r}, err
	case or:
		l, r, err := c.pair(x.l, x.r)
		return or{l, r}, err
	case not:
		in, err := c.expr(x.e)
		return not{in}, err
	case compare:
		return c.compare(x)
	case valuePath:
		return c.valuePath(x)
	}
	return nil, perr("unsupported filter")
}

func (c *filterCheck) pair(l, r expr) (expr, expr, error) {
	l, err := c.expr(l)
	if err != nil {
		return nil, nil, err
	}
	r, err = c.expr(r)
	return l, r, err
}

// spec returns the attribute p names, known false for an extension the
// receiver has no definition of (its attributes are evaluated as stored).
func (c *filterCheck) spec(p attrPath) (attrSpec, bool, error) {
	if err := checkSchema(c.k, p.schema); err != nil {
		return attrSpec{}, false, perr("%s", err.Error())
	}
	attrs := schemaAttrs(c.k, p.schema)
	if attrs == nil {
		return attrSpec{}, false, nil
	}
	name := strings.ToLower(p.attr)
	switch {
	case p.schema == "" && name == "id":
		return simpleAttr(), true, nil
	case p.schema == "" && (name == "password" || name == "groups"):
		// never stored: password is dropped, groups is read-only (RFC 7644 §3.3)
		return attrSpec{}, false, perr("filtering on %s is not supported", p.attr)
	}
	spec, ok := attrs[name]
	if !ok {
		return attrSpec{}, false, perr("%s resources have no attribute %q", c.k.resourceType(), clip(p.attr))
	}
	return spec, true, nil
}

// compare resolves attr op value: a multi-valued attribute compared as a
// whole means its value sub-attribute (members eq "x" is members.value
// eq "x", RFC 7643 §2.4); other complex attributes cannot be compared.
func (c *filterCheck) compare(x compare) (expr, error) {
	if x.path.schema == "" && strings.EqualFold(x.path.attr, "meta") {
		return c.meta(x)
	}
	spec, known, err := c.spec(x.path)
	if err != nil || !known {
		return x, err
	}
	switch {
	case x.path.sub != "" && !spec.hasSub(x.path.sub):
		return nil, perr("%s has no sub-attribute %q", x.path.attr, clip(x.path.sub))
	case x.path.sub != "" || spec.subs == nil || x.op == "pr":
	case spec.multi && spec.hasSub("value"):
		x.path.sub = "value"
	default:
		return nil, perr("%s is complex: compare one of its sub-attributes", x.path.attr)
	}
	return x, nil
}

// meta resolves meta.resourceType, meta.created and meta.lastModified;
// the date-times compare chronologically (RFC 7644 §3.4.2.2), so their
// value must be one.
func (c *filterCheck) meta(x compare) (expr, error) {
	sub := strings.ToLower(x.path.sub)
	if !metaSubs[sub] {
		return nil, perr("filtering on meta.%s is not supported (meta.resourceType, meta.created and meta.lastModified are)", clip(x.path.sub))
	}
	c.needMeta = true
	if sub == "resourcetype" || x.op == "pr" {
		return x, nil
	}
	if x.op == "co" || x.op == "sw" || x.op == "ew" {
		return nil, perr("meta.%s is a date-time: %s is not supported on it", x.path.sub, x.op)
	}
	s, ok := x.val.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if !ok || err != nil {
		return nil, perr("meta.%s is compared with a date-time such as \"2024-01-31T12:00:00Z\", not %v", x.path.sub, clip(jsonText(x.val)))
	}
	x.val = t
	return x, nil
}

// valuePath resolves attr[filter]: attr must be complex, and the inner
// filter may name only its sub-attributes.
func (c *filterCheck) valuePath(x valuePath) (expr, error) {
	spec, known, err := c.spec(x.path)
	if err != nil || !known {
		return x, err
	}
	if x.path.sub != "" || spec.subs == nil || !filterNamesSubs(spec, x.filter) {
		return nil, perr("%s[...] must filter on sub-attributes of %s", x.path.attr, x.path.attr)
	}
	return x, nil
}

// withMeta is what a filter reading meta sees: the attributes and the
// meta attributes it can use, as times where they are date-times.
func withMeta(k Kind, rec *record, attrs object) object {
	o := make(object, len(attrs)+1)
	for key, v := range attrs {
		o[key] = v
	}
	o["meta"] = object{"resourceType": k.resourceType(), "created": rec.Created, "lastModified": rec.Modified}
	return o
}
