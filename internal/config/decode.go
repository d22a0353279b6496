package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder fills Config from the YAML tree strictly: unknown and duplicate
// keys, wrong kinds and malformed scalars are errors at their position.
// yaml.v3's own Decode cannot give a position for every problem (and stops
// at the first), hence this walk over the nodes. Aliases are followed, but
// the walk only descends where the Config types do, which have no
// recursion, so nested aliases cannot make it explode.
type decoder struct {
	file   string
	getenv func(string) string
	pos    *positions
	errs   []error
}

var (
	durationType   = reflect.TypeOf(Duration(0))
	stringListType = reflect.TypeOf(StringList(nil))
	secretType     = reflect.TypeOf(Secret(""))
)

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode(root *yaml.Node, cfg *Config) {
	d.value(root, reflect.ValueOf(cfg).Elem(), "")
}

// value decodes n into v; path names v in messages ("" is the top level).
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		d.pos.val[path] = Position{n.Line, n.Column}
	}
	if isNull(n) {
		return // an empty value leaves the default in place
	}
	if path != "" {
		d.pos.set[path] = true
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
	case v.Type() == stringListType:
		d.stringList(n, v, path)
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapping decodes a YAML mapping into a struct by the fields' yaml tags.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping of keys, got %s", describe(path), kindName(n))
		return
	}
	fields, names := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be plain words, got %s", describe(path), kindName(k))
			continue
		}
		if k.Value == "<<" {
			d.errorf(k, "%s: YAML merge keys (<<) are not supported; write the keys out", describe(path))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k, "duplicate key %q in %s (first set on line %d)", k.Value, describe(path), prev.Line)
			continue
		}
		seen[k.Value] = k
		idx, ok := fields[k.Value]
		if !ok {
			d.errorf(k, "unknown key %q in %s%s (known: %s)", k.Value, describe(path), suggest(k.Value, names), strings.Join(names, ", "))
			continue
		}
		sub := join(path, k.Value)
		d.pos.key[sub] = Position{k.Line, k.Column}
		d.value(val, v.Field(idx), sub)
	}
}

// sequence decodes a YAML sequence into a slice.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list (- item, or [a, b]), got %s", describe(path), kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		sub := fmt.Sprintf("%s[%d]", path, i)
		d.pos.key[sub] = Position{item.Line, item.Column}
		d.value(item, s.Index(i), sub)
	}
	v.Set(s)
}

// stringList accepts one string or a list of strings.
func (d *decoder) stringList(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.expand(n, path)
		if ok {
			v.Set(reflect.ValueOf(StringList{s}))
		}
		return
	}
	var items []string
	d.sequence(n, reflect.ValueOf(&items).Elem(), path)
	v.Set(reflect.ValueOf(StringList(items)))
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalarText(n, path)
	if !ok || d.empty(s, path) {
		return
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.errorf(n, "%s: %q is not a duration (write e.g. 30s, 5m, 1h30m, 7d)", describe(path), s)
		return
	}
	v.SetInt(int64(dur))
}

// scalar decodes strings, secrets, booleans and numbers.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalarText(n, path)
	if !ok || (v.Kind() != reflect.String && d.empty(s, path)) {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := parseBool(s)
		if err != nil {
			d.errorf(n, "%s: %q is not a boolean (write true or false)", describe(path), s)
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			d.errorf(n, "%s: %q is not a whole number", describe(path), s)
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			d.errorf(n, "%s: %q is not a number", describe(path), s)
			return
		}
		v.SetFloat(f)
	default:
		panic("config: no decoder for " + v.Type().String())
	}
	if v.Type() == secretType && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		v.SetString(strings.TrimRight(s, "\r\n")) // block scalars keep a final newline
	}
	if v.Type() == secretType && v.String() != "" && !d.pos.env[path] {
		d.pos.inline = append(d.pos.inline, path)
	}
}

// empty treats a value that expanded to nothing (${VAR:-}) as left out,
// so the default applies.
func (d *decoder) empty(s, path string) bool {
	if s != "" {
		return false
	}
	delete(d.pos.set, path)
	return true
}

// scalarText is the expanded text of a scalar node.
func (d *decoder) scalarText(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a single value, got %s", describe(path), kindName(n))
		return "", false
	}
	return d.expand(n, path)
}

// expand applies ${VAR} expansion to a scalar's text.
func (d *decoder) expand(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a single value, got %s", describe(path), kindName(n))
		return "", false
	}
	s, fromEnv, err := expand(n.Value, d.getenv)
	if err != nil {
		d.errorf(n, "%s: %v", describe(path), err)
		return "", false
	}
	if fromEnv {
		d.pos.env[path] = true // a secret that must not be written in the file may come this way
	}
	return s, true
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, strconv.ErrSyntax
}

// yamlFields maps yaml key -> field index, with the keys in struct order.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		idx[name] = i
		names = append(names, name)
	}
	return idx, names
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a path for a message.
func describe(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "something else"
}

// suggest returns `; did you mean "x"?` for a near miss among the known keys.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
