package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a configuration file, at the position of the value
// (or key) that causes it. Load returns every Error it finds, joined.
type Error struct {
	File   string
	Line   int
	Column int // 0 when only the line is known (YAML syntax errors)
	Msg    string
}

func (e *Error) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Errors flattens what Load returned into its single errors, in file order,
// for commands that print one per line.
func Errors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	return []error{err}
}

// DefaultPath is where the config is read from when --config is not given:
// $SYNCD_CONFIG, else ./config.yaml when it exists, else /etc/syncd/config.yaml.
func DefaultPath(getenv func(string) string) string {
	if p := getenv("SYNCD_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("config.yaml"); err == nil {
		return "config.yaml"
	}
	return "/etc/syncd/config.yaml"
}

// Load reads, expands, decodes, completes and validates the configuration
// file at path. getenv supplies ${VAR} values (os.Getenv in main). Every
// problem found is reported, each as an *Error naming file:line:column.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, getenv)
}

// MaxFileSize bounds the configuration file. A real one is a few KiB; a
// path pointing at a log, a database or a device must fail at once with a
// message, not be read into memory whole.
const MaxFileSize = 1 << 20

// readFile reads path, refusing more than MaxFileSize bytes: by its size
// when the file has one, else (a pipe, a device) after MaxFileSize+1 bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > MaxFileSize {
		return nil, tooLarge(path, fmt.Sprintf("%.1f MiB", float64(info.Size())/(1<<20)))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, "larger than 1 MiB")
	}
	return data, nil
}

func tooLarge(path, size string) error {
	return &Error{File: path, Line: 1, Msg: "the file is " + size + "; a configuration file is at most 1 MiB: is --config (or $SYNCD_CONFIG) the right file?"}
}

// Parse is Load for content already in memory; path names it in messages
// and anchors relative paths (secret files, CA bundles, the LDIF file).
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" } // no environment
	}
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Path: path}
	d := &decoder{file: path, getenv: getenv, pos: cfg.pos.init()}
	d.decode(root, cfg)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	v := &checker{cfg: cfg, dir: filepath.Dir(path)}
	v.complete()
	v.validate()
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errors()...)
	}
	return cfg, nil
}

// parseYAML returns the mapping at the root of the file's only document.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Column: 1, Msg: "the file is empty (config.example.yaml shows every key)"}
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Column: extra.Column, Msg: "a second YAML document (after ---): put the whole configuration in one document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "the file is empty (config.example.yaml shows every key)"}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "the file is empty (config.example.yaml shows every key)"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Column: root.Column, Msg: "the configuration must be a mapping of keys (teams:, sources:, ...), not " + kindName(root)}
	}
	return root, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns yaml.v3's "yaml: line N: msg" into an *Error.
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if strings.Contains(text, "unknown escape character") {
			// CORP\svc-syncd in double quotes, the Active Directory
			// down-level name every AD admin writes.
			text += `: in double quotes a backslash starts an escape; write the value in single quotes ('CORP\svc-syncd'), unquoted, or with the backslash doubled`
		}
		return &Error{File: file, Line: line, Msg: "YAML syntax: " + text}
	}
	return &Error{File: file, Line: 1, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// Position is a place in the config file.
type Position struct{ Line, Column int }

// positions records where each key and value of the file was written, by
// path ("sources[0].ldap.url"), so validation can point at the culprit.
type positions struct {
	val map[string]Position
	key map[string]Position
	set map[string]bool // written with a non-empty value
	env map[string]bool // the value came (at least in part) from ${VAR}
	// inline lists the secrets written in the file itself (not ${VAR}),
	// in file order.
	inline []string
}

func (p *positions) init() *positions {
	p.val = map[string]Position{}
	p.key = map[string]Position{}
	p.set = map[string]bool{}
	p.env = map[string]bool{}
	return p
}

// has reports whether the key at path was given a (non-null) value.
func (p *positions) has(path string) bool { return p.set[path] }

// at is the value's position, else that of the nearest written ancestor key,
// else the top of the file.
func (p *positions) at(path string) Position {
	if v, ok := p.val[path]; ok {
		return v
	}
	for path != "" {
		path = parent(path)
		if k, ok := p.key[path]; ok {
			return k
		}
	}
	return Position{1, 1}
}

// parent strips the last element of a path: "a.b[2]" -> "a.b", "a.b" -> "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
