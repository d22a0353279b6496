package scimserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// object is a SCIM resource as received: attribute names keep the case the
// client used and are looked up case-insensitively (RFC 7643 §2.1).
type object = map[string]any

// expr is a parsed filter (RFC 7644 §3.4.2.2).
type expr interface {
	match(o object) bool
}

// attrPath names an attribute: an optional extension schema URN, the
// attribute, and an optional sub-attribute.
type attrPath struct {
	schema string // extension URN, "" for the core schema
	attr   string
	sub    string
	// parent is, inside attr[filter], the multi-valued attribute whose
	// elements the path reads (emails in emails[value eq "x"]).
	parent string
}

type compare struct {
	path attrPath
	op   string // eq ne co sw ew gt ge lt le pr
	val  any    // string, float64, bool or nil; time.Time for meta date-times (resolveFilter)
}

type and struct{ l, r expr }
type or struct{ l, r expr }
type not struct{ e expr }

// valuePath is attr[filter]: true when an element of the multi-valued
// attribute matches the inner filter.
type valuePath struct {
	path   attrPath
	filter expr
}

func (e and) match(o object) bool { return e.l.match(o) && e.r.match(o) }
func (e or) match(o object) bool  { return e.l.match(o) || e.r.match(o) }
func (e not) match(o object) bool { return !e.e.match(o) }

func (e valuePath) match(o object) bool {
	for _, el := range elements(lookupPath(o, attrPath{schema: e.path.schema, attr: e.path.attr})) {
		if m, ok := el.(object); ok && e.filter.match(m) {
			return true
		}
	}
	return false
}

func (e compare) match(o object) bool {
	vals := values(o, e.path)
	if e.op == "pr" {
		for _, v := range vals {
			if v != nil && v != "" {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if compareOne(v, e.op, e.val, caseExact(e.path)) {
			return true
		}
	}
	return e.op == "ne" && len(vals) == 0
}

// values returns the values at path, flattening multi-valued attributes
// (emails.value yields every address).
func values(o object, p attrPath) []any {
	top := lookupPath(o, attrPath{schema: p.schema, attr: p.attr})
	if p.sub == "" {
		return elements(top)
	}
	var out []any
	for _, el := range elements(top) {
		if m, ok := el.(object); ok {
			if v, ok := get(m, p.sub); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func elements(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// lookupPath returns the attribute (without sub) from o or its extension.
func lookupPath(o object, p attrPath) any {
	if p.schema != "" {
		ext, ok := get(o, p.schema)
		m, isObj := ext.(object)
		if !ok || !isObj {
			return nil
		}
		o = m
	}
	v, _ := get(o, p.attr)
	return v
}

// caseExact: ids are compared exactly, other strings case-insensitively
// (RFC 7643 §4.1.1, §4.2 defaults).
func caseExact(p attrPath) bool {
	a := strings.ToLower(p.attr)
	member := a == "value" && p.sub == "" && (p.parent == "" || strings.EqualFold(p.parent, "members"))
	return a == "id" || a == "externalid" || (a == "members" && strings.EqualFold(p.sub, "value")) || member
}

// withParent marks the comparisons of e, the filter inside parent[...],
// as reading parent's elements.
func withParent(e expr, parent string) expr {
	switch x := e.(type) {
	case compare:
		x.path.parent = parent
		return x
	case and:
		return and{withParent(x.l, parent), withParent(x.r, parent)}
	case or:
		return or{withParent(x.l, parent), withParent(x.r, parent)}
	case not:
		return not{withParent(x.e, parent)}
	}
	return e
}

func compareOne(v any, op string, want any, exact bool) bool {
	switch w := want.(type) {
	case string:
		s, ok := v.(string)
		if !ok {
			return op == "ne"
		}
		if !exact {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		return compareStrings(s, op, w)
	case bool:
		b, ok := asBool(v)
		return (ok && b == w) == (op == "eq")
	case float64:
		f, ok := v.(float64)
		if !ok {
			return op == "ne"
		}
		return compareNumbers(f, op, w)
	case time.Time:
		t, ok := v.(time.Time)
		if !ok {
			return op == "ne"
		}
		return compareNumbers(float64(t.Compare(w)), op, 0)
	case nil:
		return (v == nil) == (op == "eq")
	}
	return false
}

func compareNumbers(f float64, op string, w float64) bool {
	switch op {
	case "eq":
		return f == w
	case "ne":
		return f != w
	case "gt":
		return f > w
	case "ge":
		return f >= w
	case "lt":
		return f < w
	case "le":
		return f <= w
	}
	return false
}

func compareStrings(s, op, w string) bool {
	switch op {
	case "eq":
		return s == w
	case "ne":
		return s != w
	case "co":
		return strings.Contains(s, w)
	case "sw":
		return strings.HasPrefix(s, w)
	case "ew":
		return strings.HasSuffix(s, w)
	case "gt":
		return s > w
	case "ge":
		return s >= w
	case "lt":
		return s < w
	case "le":
		return s <= w
	}
	return false
}

// asBool accepts JSON booleans and the strings "True"/"False" (any case)
// Entra ID sends; nothing else: "0", "no" or 0 are not booleans, and
// taking them as one would guess whether someone is active.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// get looks an attribute up case-insensitively.
func get(o object, name string) (any, bool) {
	if v, ok := o[name]; ok {
		return v, true
	}
	for k, v := range o {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// set writes an attribute, reusing the key's existing spelling.
func set(o object, name string, v any) {
	for k := range o {
		if strings.EqualFold(k, name) {
			o[k] = v
			return
		}
	}
	o[name] = v
}

// del removes an attribute whatever its spelling.
func del(o object, name string) {
	for k := range o {
		if strings.EqualFold(k, name) {
			delete(o, k)
		}
	}
}

// --- parsing -------------------------------------------------------------

// errBadFilter is wrapped by every parse error (scimType invalidFilter or invalidPath).
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

func perr(format string, args ...any) error { return &parseError{fmt.Sprintf(format, args...)} }

type token struct {
	kind byte // 'w' word, 's' string, or one of ( ) [ ]
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("()[]", c) >= 0:
			out = append(out, token{kind: c, text: string(c)})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, perr("unterminated string at offset %d", i)
			}
			var str string
			if err := json.Unmarshal([]byte(s[i:j+1]), &str); err != nil {
				return nil, perr("bad string at offset %d", i)
			}
			out = append(out, token{kind: 's', text: str})
			i = j + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()[]\"", s[j]) < 0 {
				j++
			}
			out = append(out, token{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// Limits on what a client can send: the parser is recursive, and a
// request body may be MaxBodyBytes, enough nesting to overflow the stack
// (fatal for the whole daemon, not a recoverable panic). Real filters and
// paths are a few hundred bytes and a few levels deep.
const (
	maxFilterDepth = 32      // levels of () and [] nesting
	maxFilterLen   = 8 << 10 // bytes of a filter or PATCH path
)

type parser struct {
	toks  []token
	pos   int
	depth int
}

// enter and leave track nesting; enter fails past maxFilterDepth.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return perr("nested deeper than %d levels", maxFilterDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// clip shortens client text quoted back in errors and logs.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return "…"
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *parser) next() *token {
	t := p.peek()
	if t != nil {
		p.pos++
	}
	return t
}

func (p *parser) keyword(w string) bool {
	t := p.peek()
	if t != nil && t.kind == 'w' && strings.EqualFold(t.text, w) {
		p.pos++
		return true
	}
	return false
}

// parseFilter parses a whole filter expression.
func parseFilter(s string) (expr, error) {
	if len(s) > maxFilterLen {
		return nil, perr("longer than %d bytes", maxFilterLen)
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t != nil {
		return nil, perr("unexpected %q", clip(t.text))
	}
	return e, nil
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.keyword("or") {
		var r expr
		r, err = p.and()
		l = or{l, r}
	}
	return l, err
}

func (p *parser) and() (expr, error) {
	l, err := p.unary()
	for err == nil && p.keyword("and") {
		var r expr
		r, err = p.unary()
		l = and{l, r}
	}
	return l, err
}

func (p *parser) unary() (expr, error) {
	if p.keyword("not") {
		e, err := p.group()
		return not{e}, err
	}
	if t := p.peek(); t != nil && t.kind == '(' {
		return p.group()
	}
	return p.attrExpr()
}

func (p *parser) group() (expr, error) {
	if t := p.next(); t == nil || t.kind != '(' {
		return nil, perr("expected (")
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.next(); t == nil || t.kind != ')' {
		return nil, perr("expected )")
	}
	return e, nil
}

func (p *parser) attrExpr() (expr, error) {
	t := p.next()
	if t == nil || t.kind != 'w' {
		return nil, perr("expected an attribute name")
	}
	path, err := parseAttrPath(t.text)
	if err != nil {
		return nil, err
	}
	if n := p.peek(); n != nil && n.kind == '[' {
		p.pos++
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c == nil || c.kind != ']' {
			return nil, perr("expected ]")
		}
		vp, err := p.subAfterFilter(valuePath{path: path, filter: inner})
		if v, ok := vp.(valuePath); ok && err == nil {
			v.filter = withParent(v.filter, path.attr)
			return v, nil
		}
		return vp, err
	}
	return p.comparison(path, t.text)
}

// comparison parses the operator and value after an attribute path.
func (p *parser) comparison(path attrPath, name string) (expr, error) {
	opTok := p.next()
	if opTok == nil || opTok.kind != 'w' {
		return nil, perr("expected an operator after %s", name)
	}
	op := strings.ToLower(opTok.text)
	if op == "pr" {
		return compare{path: path, op: op}, nil
	}
	if !strings.Contains(" eq ne co sw ew gt ge lt le ", " "+op+" ") {
		return nil, perr("unknown operator %q", clip(opTok.text))
	}
	v := p.next()
	if v == nil {
		return nil, perr("expected a value after %s %s", name, op)
	}
	val, err := literal(*v)
	return compare{path: path, op: op, val: val}, err
}

// subAfterFilter reads emails[type eq "work"].value eq "x", the form
// Entra ID's matching query takes: not RFC 7644's filter grammar, but its
// PATCH path grammar, and read as emails[type eq "work" and value eq "x"].
func (p *parser) subAfterFilter(vp valuePath) (expr, error) {
	t := p.peek()
	if t == nil || t.kind != 'w' || !strings.HasPrefix(t.text, ".") {
		return vp, nil
	}
	p.pos++
	sub := t.text[1:]
	if sub == "" || strings.ContainsAny(sub, ".:") {
		return nil, perr("bad sub-attribute %q after %s[...]", clip(t.text), vp.path.attr)
	}
	c, err := p.comparison(attrPath{attr: sub}, vp.path.attr+"[...]"+t.text)
	if err != nil {
		return nil, err
	}
	vp.filter = and{vp.filter, c}
	return vp, nil
}

func literal(t token) (any, error) {
	if t.kind == 's' {
		return t.text, nil
	}
	if t.kind != 'w' {
		return nil, perr("unexpected %q", clip(t.text))
	}
	switch strings.ToLower(t.text) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return nil, perr("bad value %q (strings need quotes)", clip(t.text))
	}
	return f, nil
}

// coreSchemas are stripped from fully qualified attribute names.
var coreSchemas = []string{
	"urn:ietf:params:scim:schemas:core:2.0:User:",
	"urn:ietf:params:scim:schemas:core:2.0:Group:",
}

// parseAttrPath parses "userName", "name.givenName",
// "urn:...:core:2.0:User:userName" or "urn:...:enterprise:2.0:User:manager.value".
func parseAttrPath(s string) (attrPath, error) {
	var p attrPath
	for _, c := range coreSchemas {
		if len(s) > len(c) && strings.EqualFold(s[:len(c)], c) {
			s = s[len(c):]
		}
	}
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		i := strings.LastIndexByte(s, ':')
		p.schema, s = s[:i], s[i+1:]
	}
	p.attr, p.sub, _ = strings.Cut(s, ".")
	if p.attr == "" || strings.Contains(p.sub, ".") {
		return p, perr("bad attribute path %q", clip(s))
	}
	return p, nil
}

// patchPath is a PATCH target: attrPath, optionally with a value filter
// and a sub-attribute after it (emails[type eq "work"].value).
type patchPath struct {
	attrPath
	filter expr
}

func parsePatchPath(s string) (patchPath, error) {
	var pp patchPath
	if len(s) > maxFilterLen {
		return pp, perr("path longer than %d bytes", maxFilterLen)
	}
	head, rest, hasFilter := strings.Cut(s, "[")
	ap, err := parseAttrPath(strings.TrimSpace(head))
	if err != nil {
		return pp, err
	}
	pp.attrPath = ap
	if !hasFilter {
		return pp, nil
	}
	if ap.sub != "" {
		return pp, perr("bad path %q", clip(s))
	}
	end := strings.LastIndexByte(rest, ']')
	if end < 0 {
		return pp, perr("bad path %q: missing ]", clip(s))
	}
	if pp.filter, err = parseFilter(rest[:end]); err != nil {
		return pp, err
	}
	if tail := rest[end+1:]; tail != "" {
		if !strings.HasPrefix(tail, ".") || strings.Contains(tail[1:], ".") || len(tail) < 2 {
			return pp, perr("bad path %q", clip(s))
		}
		pp.sub = tail[1:]
	}
	return pp, nil
}
