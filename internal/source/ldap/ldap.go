// Package ldap reads users and groups from an LDAP directory (OpenLDAP,
// Active Directory, FreeIPA, 389-ds) into a directory.Directory.
//
// A read is all or nothing: users are read completely or the whole read
// fails, and a group whose members could not be read completely is returned
// unknown (Group.Err set), never empty or partial. Searches are paged
// (RFC 2696) and each entry is mapped as it arrives, so memory holds the
// result, not the answers; Active Directory range retrieval and the in-chain
// matching rule are supported. Entries are mapped by Mapper, which the LDIF
// source shares.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/tlsconfig"
)

// Defaults applied when a configuration did not go through config.Load
// (which applies them itself): config is their one home.
const (
	DefaultPageSize = config.DefaultLDAPPageSize
	DefaultTimeout  = config.DefaultLDAPTimeout
)

// Reader reads one configured LDAP source.
type Reader struct {
	name       string
	cfg        config.LDAP
	log        *zap.Logger
	tls        *tls.Config
	timeout    time.Duration
	userScope  int
	groupScope int
	inChain    bool
	userAttrs  []string
	groupAttrs []string
	schema     schemaCache
	// warnADUnset warns once per reader of an Active Directory read
	// without the active_directory: block.
	warnADUnset sync.Once
}

// New checks cfg and returns a reader. Nothing is contacted yet. A page_size
// below zero turns paging off (for servers without RFC 2696).
func New(name string, cfg config.LDAP, logger *zap.Logger) (*Reader, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	r := &Reader{name: name, cfg: cfg, log: logger.Named("ldap").With(zap.String("source", name))}
	if err := r.init(); err != nil {
		return nil, fmt.Errorf("ldap source %q: %w", name, err)
	}
	r.warnCleartext()
	return r, nil
}

// warnCleartext says so when a bind password would cross the network
// unencrypted: ldap:// without StartTLS to a host that is not this machine.
// It is allowed (some sites run LDAP on a trusted segment) but never silent.
func (r *Reader) warnCleartext() {
	if r.cfg.BindDN == "" || r.cfg.StartTLS {
		return
	}
	for _, raw := range r.cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, "ldap") || isLoopback(u.Hostname()) {
			continue
		}
		r.log.Warn("the bind password is sent unencrypted: use ldaps:// or start_tls: true",
			zap.String("url", raw), zap.String("bind_dn", r.cfg.BindDN))
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *Reader) init() error {
	c := &r.cfg
	if len(c.URLs) == 0 {
		return errors.New("url: at least one ldap:// or ldaps:// URL is required")
	}
	for _, u := range c.URLs {
		if err := checkURL(u, c.StartTLS); err != nil {
			return err
		}
	}
	if c.BindDN != "" && c.BindPassword.Reveal() == "" {
		return errors.New("bind_dn is set but the bind password is empty")
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	r.timeout = time.Duration(c.Timeout)
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	ApplyUserDefaults(&c.Users)
	ApplyGroupDefaults(&c.Groups)
	r.inChain = c.ActiveDirectory != nil && c.ActiveDirectory.InChainLookup && c.Groups.Nested
	var err error
	if r.userScope, err = checkBase("users", c.Users.BaseDN, c.Users.Scope, c.Users.Filter); err != nil {
		return err
	}
	if r.groupScope, err = checkBase("groups", c.Groups.BaseDN, c.Groups.Scope, c.Groups.Filter); err != nil {
		return err
	}
	r.userAttrs = UserAttributes(c.Users, c.ActiveDirectory)
	r.groupAttrs = GroupAttributes(c.Groups, c.ActiveDirectory)
	if r.tls, err = tlsconfig.Client(c.CAFile, c.InsecureSkipVerify); err != nil {
		return fmt.Errorf("ca_file: %w", err)
	}
	return nil
}

func checkBase(what, base, scope, filter string) (int, error) {
	if base == "" {
		return 0, fmt.Errorf("%s.base_dn is required", what)
	}
	if _, err := goldap.ParseDN(base); err != nil {
		return 0, fmt.Errorf("%s.base_dn %q: %w", what, base, err)
	}
	if _, err := goldap.CompileFilter(filter); err != nil {
		return 0, fmt.Errorf("%s.filter %q: %w", what, filter, err)
	}
	s, err := parseScope(scope)
	if err != nil {
		return 0, fmt.Errorf("%s.%w", what, err)
	}
	return s, nil
}

// Name is the source's configured name.
func (r *Reader) Name() string { return r.name }

// Read binds to the first reachable server and reads every user, then
// every group. An error means nothing read can be trusted.
func (r *Reader) Read(ctx context.Context) (*directory.Directory, error) {
	start := time.Now()
	d, stats, err := r.read(ctx)
	if err == nil && ctx.Err() != nil {
		err = errors.New("read interrupted") // the connection may have been cut mid-answer
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("ldap source %q: %w", r.name, err)
	}
	r.logResult(d, stats, time.Since(start))
	return d, nil
}

func (r *Reader) read(ctx context.Context) (*directory.Directory, Stats, error) {
	s, err := r.connect(ctx)
	if err != nil {
		return nil, Stats{}, err
	}
	defer s.close()
	if r.inChain {
		if err := checkInChain(s); err != nil {
			return nil, Stats{}, err
		}
	}
	m := NewMapper(r.name, r.cfg.Users, r.cfg.Groups, r.cfg.ActiveDirectory)
	ahead := r.listGroupsAhead(ctx, s.url)
	if err := r.readUsers(s, m); err != nil {
		ahead.abandon()
		return nil, Stats{}, err
	}
	empty, err := r.addGroups(ctx, s, m, ahead)
	if err != nil {
		return nil, Stats{}, err
	}
	d := m.Directory()
	if err := m.CheckRead(d); err != nil {
		return nil, Stats{}, err
	}
	if err := r.checkEmptyGroups(s, d, empty); err != nil {
		return nil, Stats{}, err
	}
	if r.inChain {
		err = r.inChainMembers(ctx, s, m, d)
	} else {
		err = r.checkUnresolved(ctx, s, m)
	}
	if err != nil {
		return nil, Stats{}, err
	}
	d.Expand()
	return d, m.Stats(), nil
}

// readUsers reads every user. Continuation references (Active Directory
// sends three from a domain root) do not stop it: the referred subtrees are
// recorded, and a group with a member there is unknown.
func (r *Reader) readUsers(s *session, m *Mapper) error {
	q := query{base: r.cfg.Users.BaseDN, scope: r.userScope, filter: r.cfg.Users.Filter,
		attrs: r.userAttrs, paged: true, purpose: "users", allowReferrals: true, passing: true}
	refs, err := s.search(q, func(e *Entry) error {
		m.AddUser(e)
		return nil
	})
	if err != nil {
		return err
	}
	r.unread(m, q, refs)
	return nil
}

// groupListing is the group search's result: each group entry with the
// error that left its member ranges incomplete (nil: complete), in the
// order listed, and the continuation references met.
type groupListing struct {
	entries []*Entry
	errs    []error
	refs    []string
}

// listGroups lists the groups on s. A group whose member ranges cannot be
// completed is kept with the error (it will be unknown); a failure of the
// listing itself fails the read, since groups never listed cannot even be
// named as unknown.
func (r *Reader) listGroups(ctx context.Context, s *session) (*groupListing, error) {
	l := &groupListing{}
	var ranged []int // finished after the listing: one request at a time
	refs, err := s.search(r.groupQuery(), func(e *Entry) error {
		if hasRanges(e) {
			ranged = append(ranged, len(l.entries))
		}
		l.entries = append(l.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.refs, l.errs = refs, make([]error, len(l.entries))
	for _, i := range ranged {
		e := l.entries[i]
		rerr := s.completeRanges(e)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if rerr != nil {
			r.log.Warn("group unknown: members could not be read completely", zap.String("group", e.DN), zap.Error(rerr))
		}
		l.errs[i] = rerr
	}
	return l, nil
}

// groupQuery is the search that lists the groups.
func (r *Reader) groupQuery() query {
	return query{base: r.cfg.Groups.BaseDN, scope: r.groupScope, filter: r.cfg.Groups.Filter,
		attrs: r.groupAttrs, paged: true, purpose: "groups", allowReferrals: true}
}

// addGroups adds the groups to m: the listing read ahead on a connection
// of its own, or, when there was none, read now on s. Continuation
// references are recorded as in readUsers: a group that is missing is
// never taken as empty.
func (r *Reader) addGroups(ctx context.Context, s *session, m *Mapper, ahead *groupsAhead) (empty []string, err error) {
	l, err := ahead.wait()
	if l == nil && err == nil {
		l, err = r.listGroups(ctx, s)
	}
	if err != nil {
		return nil, err
	}
	r.unread(m, r.groupQuery(), l.refs)
	if r.cfg.ActiveDirectory == nil && slices.ContainsFunc(l.entries, isADGroup) {
		r.warnADUnset.Do(func() {
			// The class says so; the root DSE proves it (a schema
			// elsewhere may name a class "group"). One search, once.
			if root, err := readRoot(s); err == nil && root.activeDirectory() {
				r.log.Warn("the server is Active Directory, but the source has no active_directory: block", zap.Error(ErrActiveDirectoryUnset))
			}
		})
	}
	if slices.ContainsFunc(l.entries, r.withoutMembers) {
		// Only then: most reads need no schema, and a read of it is a
		// large answer on Active Directory.
		m.required = r.schema.get(s, r.cfg.Groups.MemberAttributes, r.log)
	}
	for i, e := range l.entries {
		m.AddGroup(e, l.errs[i])
		if l.errs[i] == nil && r.withoutMembers(e) {
			empty = append(empty, e.DN)
		}
	}
	return empty, nil
}

// ErrActiveDirectoryUnset is an Active Directory read as a plain LDAP
// server: primary groups (Domain Users, for nearly everyone) read nearly
// empty, and skip_disabled does not see who is disabled. A warning, not a
// failure: the generic keys read Active Directory as the contract shows
// them (id_attribute: objectGUID), and a configuration that works must not
// stop working; the removal budgets and the empty-group rule stand guard.
var ErrActiveDirectoryUnset = errors.New("the groups read are Active Directory's, " +
	"but the source has no active_directory: block: without it primary groups (Domain Users) read nearly empty " +
	"and users.skip_disabled cannot see disabled accounts; add active_directory: {} to the source (docs/active-directory.md)")

// isADGroup says whether a group entry is of Active Directory's group
// class, which no other server syncd reads uses by default.
func isADGroup(e *Entry) bool {
	return slices.ContainsFunc(e.Values("objectClass"), func(c string) bool { return strings.EqualFold(c, "group") })
}

// withoutMembers says whether a group entry came back with no value of any
// configured member attribute.
func (r *Reader) withoutMembers(e *Entry) bool {
	for _, a := range r.cfg.Groups.MemberAttributes {
		if len(e.Values(a)) > 0 {
			return false
		}
	}
	return true
}

func (r *Reader) logResult(d *directory.Directory, st Stats, took time.Duration) {
	unknown := 0
	for _, g := range d.Groups {
		if g.Err != nil {
			unknown++
		}
	}
	r.log.Info("ldap source read",
		zap.Int("users", len(d.Users)), zap.Int("groups", len(d.Groups)),
		zap.Int("unknown_groups", unknown), zap.Int("users_without_email", st.WithoutEmail),
		zap.Int("users_disabled_skipped", st.Disabled), zap.Int("users_without_id", st.WithoutID),
		zap.Int("users_duplicate_id", st.DuplicateID), zap.Int("ignored_member_references", st.IgnoredReference),
		zap.Int("primary_group_memberships", st.PrimaryMembers),
		zap.Duration("took", took))
}

// ErrNoUsers is a read that found no user while groups list members: the
// user search or the account's read access is wrong, and every group would
// otherwise read as empty.
var ErrNoUsers = errors.New("no user read, yet groups list members")

func noUsersSeen(d *directory.Directory, u config.LDAPUsers) error {
	if len(d.Users) > 0 {
		return nil
	}
	refs := 0
	for _, g := range d.Groups {
		refs += g.Ignored
	}
	if refs == 0 {
		return nil
	}
	return fmt.Errorf("%w (%d member references): check users.base_dn %q and users.filter %s, and that syncd's account may read the people there",
		ErrNoUsers, refs, u.BaseDN, u.Filter)
}
