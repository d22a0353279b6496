// Package ldif reads users and groups from an LDIF export (RFC 2849): an
// offline directory, used by the quick start and for trials. Entries are
// picked with the same base DN, scope and filter settings as the LDAP
// source and mapped by the same code, so an export and the live directory
// give the same answer.
package ldif

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
)

// Reader reads one configured LDIF file.
type Reader struct {
	name   string
	cfg    config.LDIF
	log    *zap.Logger
	users  *ldap.Matcher
	groups *ldap.Matcher
}

// New checks cfg and returns a reader. The file is opened by Read.
func New(name string, cfg config.LDIF, logger *zap.Logger) (*Reader, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("ldif source %q: path is required", name)
	}
	ldap.ApplyUserDefaults(&cfg.Users)
	ldap.ApplyGroupDefaults(&cfg.Groups)
	r := &Reader{name: name, cfg: cfg, log: logger.Named("ldif").With(zap.String("source", name))}
	var err error
	if r.users, err = ldap.CompileMatcher(cfg.Users.Filter); err != nil {
		return nil, fmt.Errorf("ldif source %q: users.%w", name, err)
	}
	if r.groups, err = ldap.CompileMatcher(cfg.Groups.Filter); err != nil {
		return nil, fmt.Errorf("ldif source %q: groups.%w", name, err)
	}
	return r, nil
}

// Name is the source's configured name.
func (r *Reader) Name() string { return r.name }

// Read parses the whole file. Any syntax error fails the read: a file read
// halfway would look like a directory with people missing. A file cut
// short between entries parses, so a member that names no entry of the
// file at all makes its groups unknown (checkReferences).
func (r *Reader) Read(ctx context.Context) (*directory.Directory, error) {
	d, err := r.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("ldif source %q: %w", r.name, err)
	}
	return d, nil
}

func (r *Reader) read(ctx context.Context) (*directory.Directory, error) {
	f, err := os.Open(r.cfg.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := endsWithNewline(f, r.cfg.Path); err != nil {
		return nil, err
	}
	m := ldap.NewMapper(r.name, r.cfg.Users, r.cfg.Groups, nil)
	m.IDFromDN, m.ReferAll = true, true
	seen := newEntryIndex(r.cfg.Users.LoginAttribute)
	p := newParser(f, r.cfg.Path)
	for n := 0; ; n++ {
		if n%1000 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e, err := p.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		seen.add(e)
		r.add(m, e)
	}
	d := m.Directory()
	if err := m.CheckRead(d); err != nil {
		return nil, err
	}
	seen.checkReferences(m, r.cfg.Path)
	d.Expand()
	st := m.Stats()
	r.log.Info("ldif source read", zap.Int("users", len(d.Users)), zap.Int("groups", len(d.Groups)),
		zap.Int("users_without_email", st.WithoutEmail), zap.Int("users_without_id", st.WithoutID),
		zap.Int("ignored_member_references", st.IgnoredReference))
	return d, nil
}

// endsWithNewline refuses a file whose last line is cut: every LDIF writer
// ends its lines, and a value cut short (an address, a member DN) parses.
func endsWithNewline(f *os.File, path string) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		return fmt.Errorf("%s: %w: its last line has no line break, as a file cut short has (if it was saved so by hand, add one)", path, ErrIncomplete)
	}
	return nil
}

// ErrIncomplete is a file that shows it is not a whole export.
var ErrIncomplete = errors.New("the file is incomplete")

func (r *Reader) add(m *ldap.Mapper, e *ldap.Entry) {
	u, g := r.cfg.Users, r.cfg.Groups
	if ldap.InScope(e.DN, u.BaseDN, u.Scope) && r.users.Match(e) {
		m.AddUser(e)
	}
	if ldap.InScope(e.DN, g.BaseDN, g.Scope) && r.groups.Match(e) {
		m.AddGroup(e, nil)
	}
}
