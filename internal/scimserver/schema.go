package scimserver

import "strings"

// What a PATCH may name: the attributes of RFC 7643's User (§4.1), Group
// (§4.2) and Enterprise User extension (§4.3), with their sub-attributes.
// A path outside them is refused with invalidPath (RFC 7644 §3.5.2):
// stored, it would be junk that no one can see in /Schemas. POST and PUT
// bodies are not checked against this; Entra ID and Okta send only these
// attributes (Entra ID's default mappings: docs/scim.md).
//
// Other extension schemas (Entra ID's custom attributes are
// urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:attr)
// have no definition here to check against: their attributes are stored
// as sent, as POST and PUT store them. Refusing them in PATCH alone would
// refuse the whole request, and a deactivation sent in the same request
// would be lost.

// attrSpec is one attribute: its sub-attributes (lower case) when it is
// complex, and whether it is multi-valued.
type attrSpec struct {
	subs  []string
	multi bool
}

func (a attrSpec) hasSub(name string) bool {
	for _, s := range a.subs {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

func simpleAttr() attrSpec                { return attrSpec{} }
func complexAttr(subs ...string) attrSpec { return attrSpec{subs: subs} }
func multiAttr(extra ...string) attrSpec {
	return attrSpec{subs: append(extra, multiSubs...), multi: true}
}

// multiSubs are the sub-attributes every multi-valued attribute may have
// (RFC 7643 §2.4).
var multiSubs = []string{"value", "display", "type", "primary", "$ref"}

// attrSpecs maps lower-case attribute names to their specs.
type attrSpecs map[string]attrSpec

var userAttrs = attrSpecs{
	"externalid": simpleAttr(),
	"username":   simpleAttr(),
	"name": complexAttr("formatted", "familyName", "givenName", "middleName",
		"honorificPrefix", "honorificSuffix"),
	"displayname":       simpleAttr(),
	"nickname":          simpleAttr(),
	"profileurl":        simpleAttr(),
	"title":             simpleAttr(),
	"usertype":          simpleAttr(),
	"preferredlanguage": simpleAttr(),
	"locale":            simpleAttr(),
	"timezone":          simpleAttr(),
	"active":            simpleAttr(),
	"password":          simpleAttr(), // accepted, never kept (clean drops it)
	"emails":            multiAttr(),
	"phonenumbers":      multiAttr(),
	"ims":               multiAttr(),
	"photos":            multiAttr(),
	"addresses": multiAttr("formatted", "streetAddress", "locality", "region",
		"postalCode", "country"),
	"groups":           multiAttr(),
	"entitlements":     multiAttr(),
	"roles":            multiAttr(),
	"x509certificates": multiAttr(),
}

var enterpriseAttrs = attrSpecs{
	"employeenumber": simpleAttr(),
	"costcenter":     simpleAttr(),
	"organization":   simpleAttr(),
	"division":       simpleAttr(),
	"department":     simpleAttr(),
	"manager":        complexAttr("value", "$ref", "displayName"),
}

var groupAttrs = attrSpecs{
	"externalid":  simpleAttr(),
	"displayname": simpleAttr(),
	"members":     multiAttr(),
}

// schemaAttrs returns the attributes kind k has under schema ("" for its
// core schema), or nil when the schema is not one of k's.
func schemaAttrs(k Kind, schema string) attrSpecs {
	switch {
	case schema == "" && k == Groups:
		return groupAttrs
	case schema == "":
		return userAttrs
	case k == Users && strings.EqualFold(schema, enterpriseSchema):
		return enterpriseAttrs
	}
	return nil
}

// checkPath refuses a PATCH target that is not an attribute of the
// resource, a sub-attribute it does not have, or a [filter] on an
// attribute that is not multi-valued or that names what its elements do
// not have. value is checked too when it fills a single-valued complex
// attribute (name, manager): its keys are sub-attribute paths.
func checkPath(k Kind, p patchPath, value any) error {
	if err := checkSchema(k, p.schema); err != nil {
		return err
	}
	attrs := schemaAttrs(k, p.schema)
	if attrs == nil {
		return nil // another extension: stored as sent (see the top of this file)
	}
	spec, ok := attrs[strings.ToLower(p.attr)]
	switch {
	case !ok:
		return badRequest("invalidPath", "%s resources have no attribute %q", k.resourceType(), clip(p.attr))
	case p.sub != "" && !spec.hasSub(p.sub):
		return badRequest("invalidPath", "%s has no sub-attribute %q", p.attr, clip(p.sub))
	case p.filter != nil && !spec.multi:
		return badRequest("invalidPath", "%s is not multi-valued: it takes no [filter]", p.attr)
	case p.filter != nil && !filterNamesSubs(spec, p.filter):
		return badRequest("invalidPath", "the filter on %s names something its elements do not have", p.attr)
	}
	if obj, isObj := value.(object); isObj && p.sub == "" && p.filter == nil && spec.subs != nil && !spec.multi {
		for key := range obj {
			if !spec.hasSub(key) {
				return badRequest("invalidPath", "%s has no sub-attribute %q", p.attr, clip(key))
			}
		}
	}
	return nil
}

// checkSchema refuses a schema that belongs to the other kind of resource:
// the other core schema, the Enterprise User extension on a group, or an
// extension URN ending in the other resource type.
func checkSchema(k Kind, schema string) error {
	if schema == "" || schemaAttrs(k, schema) != nil {
		return nil
	}
	other := Users
	if k == Users {
		other = Groups
	}
	last := schema[strings.LastIndexByte(schema, ':')+1:]
	if schemaAttrs(other, schema) != nil || strings.EqualFold(schema, enterpriseSchema) || strings.EqualFold(last, other.resourceType()) {
		return badRequest("invalidPath", "%s resources have no schema %q", k.resourceType(), clip(schema))
	}
	return nil
}

// filterNamesSubs reports whether every attribute in a value filter
// (emails[type eq "work"]) is a sub-attribute of the filtered attribute.
func filterNamesSubs(spec attrSpec, e expr) bool {
	switch x := e.(type) {
	case compare:
		return x.path.schema == "" && x.path.sub == "" && spec.hasSub(x.path.attr)
	case and:
		return filterNamesSubs(spec, x.l) && filterNamesSubs(spec, x.r)
	case or:
		return filterNamesSubs(spec, x.l) && filterNamesSubs(spec, x.r)
	case not:
		return filterNamesSubs(spec, x.e)
	}
	return false // a value path inside a value path
}
