package ldif

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/syncd/syncd/internal/source/ldap"
)

// parser reads LDIF content records (RFC 2849) one entry at a time.
type parser struct {
	sc       *bufio.Scanner
	name     string
	line     int    // line of the last physical line read
	peeked   string // a physical line read ahead
	peekedAt int
	has      bool
}

func newParser(r io.Reader, name string) *parser {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return &parser{sc: sc, name: name}
}

// next returns the next entry, or io.EOF after the last.
func (p *parser) next() (*ldap.Entry, error) {
	var e *ldap.Entry
	for {
		line, start, err := p.logical()
		if errors.Is(err, io.EOF) {
			if e == nil {
				return nil, io.EOF
			}
			return e, nil
		}
		if err != nil {
			return nil, err
		}
		if line == "" {
			if e != nil {
				return e, nil
			}
			continue
		}
		attr, val, err := p.attrValue(line, start)
		if err != nil {
			return nil, err
		}
		switch {
		case e == nil && attr == "version":
		case e == nil && attr == "dn":
			e = &ldap.Entry{DN: val, Attrs: map[string][]string{}}
		case e == nil:
			return nil, p.errAt(start, "expected dn:, got %q", attr)
		case attr == "changetype":
			if !strings.EqualFold(val, "add") {
				return nil, p.errAt(start, "changetype %q: only content records (or changetype: add) can be read", val)
			}
		case attr == "control":
			return nil, p.errAt(start, "control lines are not supported")
		default:
			e.Attrs[attr] = append(e.Attrs[attr], val)
		}
	}
}

// logical returns one logical line (continuations folded, comments
// dropped) and the number of its first physical line; "" separates records.
func (p *parser) logical() (string, int, error) {
	for {
		first, start, err := p.physical()
		if err != nil {
			return "", 0, err
		}
		if first == "" {
			return "", start, nil
		}
		var b strings.Builder
		b.WriteString(first)
		for {
			next, at, err := p.physical()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return "", 0, err
			}
			if !strings.HasPrefix(next, " ") {
				p.unread(next, at)
				break
			}
			b.WriteString(next[1:])
		}
		if !strings.HasPrefix(first, "#") {
			return b.String(), start, nil
		}
	}
}

// physical returns the next physical line and its number; io.EOF at the end.
func (p *parser) physical() (string, int, error) {
	if p.has {
		p.has = false
		return p.peeked, p.peekedAt, nil
	}
	if !p.sc.Scan() {
		if err := p.sc.Err(); err != nil {
			return "", 0, fmt.Errorf("%s: %w", p.name, err)
		}
		return "", 0, io.EOF
	}
	p.line++
	return strings.TrimSuffix(p.sc.Text(), "\r"), p.line, nil
}

func (p *parser) unread(s string, at int) { p.peeked, p.peekedAt, p.has = s, at, true }

// attrValue splits "attr: value", "attr:: base64" and "attr:< file://path".
func (p *parser) attrValue(line string, at int) (string, string, error) {
	attr, rest, ok := strings.Cut(line, ":")
	if !ok || attr == "" {
		return "", "", p.errAt(at, "expected attribute: value")
	}
	attr = strings.ToLower(strings.TrimSpace(attr))
	switch {
	case strings.HasPrefix(rest, ":"):
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", "", p.errAt(at, "%s: bad base64: %v", attr, err)
		}
		return attr, string(v), nil
	case strings.HasPrefix(rest, "<"):
		path, ok := strings.CutPrefix(strings.TrimSpace(rest[1:]), "file://")
		if !ok {
			return "", "", p.errAt(at, "%s: only file:// URLs are supported", attr)
		}
		v, err := p.readBeside(path)
		if err != nil {
			return "", "", p.errAt(at, "%s: %v", attr, err)
		}
		return attr, string(v), nil
	}
	return attr, strings.TrimLeft(rest, " "), nil
}

// maxFileValue bounds a value read through "attr:< file://".
const maxFileValue = 1 << 20

// readBeside reads a value's file, which must lie in the LDIF file's own
// directory tree: an export names its binary values (photos, certificates)
// beside itself, and a value must never pull in some other file syncd can
// read (a credential, say) or a device that never ends.
func (p *parser) readBeside(path string) ([]byte, error) {
	dir, err := filepath.EvalSymlinks(filepath.Dir(p.name))
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.name), path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(dir, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("file %s lies outside the LDIF file's directory %s", path, dir)
	}
	info, err := os.Stat(real)
	switch {
	case err != nil:
		return nil, err
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case info.Size() > maxFileValue:
		return nil, fmt.Errorf("%s is larger than %d KiB", path, maxFileValue>>10)
	}
	return os.ReadFile(real)
}

func (p *parser) errAt(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.name, line, fmt.Sprintf(format, args...))
}
