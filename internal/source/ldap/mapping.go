package ldap

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

// Entry is one directory entry, as read from a server or an LDIF file.
// Attribute names are lower-cased; binary values are kept as raw bytes in
// the string.
type Entry struct {
	DN    string
	Attrs map[string][]string
}

// Values returns the values of attr (any case).
func (e *Entry) Values(attr string) []string { return e.Attrs[strings.ToLower(attr)] }

// First returns the first value of attr, or "".
func (e *Entry) First(attr string) string {
	if v := e.Values(attr); len(v) > 0 {
		return v[0]
	}
	return ""
}

// DefaultUserFilter and DefaultGroupFilter are used when the config leaves
// the filters empty.
const (
	DefaultUserFilter  = "(objectClass=inetOrgPerson)"
	DefaultGroupFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))"
)

// ApplyUserDefaults fills empty user settings with syncd's defaults. The
// config loader does the same; readers built by hand (tests, tools) rely on
// this copy.
func ApplyUserDefaults(u *config.LDAPUsers) {
	setDefault(&u.Scope, "sub")
	setDefault(&u.Filter, DefaultUserFilter)
	setDefault(&u.IDAttribute, "entryUUID")
	setDefault(&u.EmailAttribute, "mail")
	setDefault(&u.NameAttribute, "cn")
	setDefault(&u.LoginAttribute, "uid")
}

// ApplyGroupDefaults fills empty group settings with syncd's defaults.
func ApplyGroupDefaults(g *config.LDAPGroups) {
	setDefault(&g.Scope, "sub")
	setDefault(&g.Filter, DefaultGroupFilter)
	setDefault(&g.NameAttribute, "cn")
	if len(g.MemberAttributes) == 0 {
		g.MemberAttributes = []string{"member", "uniqueMember", "memberUid"}
	}
}

// lowerAll returns the names lower-cased, in a new slice.
func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

func setDefault(s *string, v string) {
	if strings.TrimSpace(*s) == "" {
		*s = v
	}
}

// UserAttributes lists the attributes a user entry needs. On Active
// Directory that includes objectSid and primaryGroupID, which place the user
// in its primary group.
func UserAttributes(u config.LDAPUsers, ad *config.ADSettings) []string {
	attrs := []string{u.IDAttribute, u.EmailAttribute, u.NameAttribute, u.LoginAttribute}
	if u.ProxyAddresses {
		attrs = append(attrs, "proxyAddresses")
	}
	switch {
	case ad != nil:
		attrs = append(attrs, "objectSid", "primaryGroupID")
		if u.SkipDisabled || ad.SkipDisabled {
			attrs = append(attrs, "userAccountControl")
		}
	case u.SkipDisabled:
		attrs = append(attrs, "nsAccountLock", "pwdAccountLockedTime")
	}
	return uniqueFold(attrs)
}

// GroupAttributes lists the attributes a group entry needs: its name, its
// members and, on Active Directory, its objectSid (for primary groups).
func GroupAttributes(g config.LDAPGroups, ad *config.ADSettings) []string {
	// objectClass: a class that requires a member attribute shows that an
	// entry without one had its values withheld (requiredMembers).
	attrs := append([]string{g.NameAttribute, "objectClass"}, g.MemberAttributes...)
	if ad != nil {
		attrs = append(attrs, "objectSid")
	}
	return uniqueFold(attrs)
}

func uniqueFold(in []string) []string {
	out := make([]string, 0, len(in))
	for _, a := range in {
		if a != "" && !slices.ContainsFunc(out, func(b string) bool { return strings.EqualFold(a, b) }) {
			out = append(out, a)
		}
	}
	return out
}

// uacDisabled is the ACCOUNTDISABLE bit of Active Directory's
// userAccountControl.
const uacDisabled = 0x2

// Stats counts what the mapping set aside, for logs and `source dump`.
type Stats struct {
	Users            int // users kept
	WithoutEmail     int // kept, but cannot be matched to a Teams account
	Disabled         int // skipped: account disabled (AD) or locked (389-ds, FreeIPA, OpenLDAP by an administrator)
	WithoutID        int // skipped: no value of the id attribute
	DuplicateID      int // skipped: id already seen on another entry
	IgnoredReference int // group member references outside the users and groups read
	PrimaryMembers   int // memberships that come from AD primary groups (primaryGroupID)
}

// MemberRef is a member DN that named no user or group read: an entry
// outside the bases or filters, a contact, a foreign security principal, a
// dangling reference, or a group the group search did not return. The LDAP
// reader looks these up, because the last kind makes its groups unknown.
type MemberRef struct {
	DN     string             // as the first group listing it spelled it
	Login  string             // instead of DN: a memberUid nobody read has (UnresolvedLogins)
	Groups []*directory.Group // the groups that list it
}

// Mapper turns entries into a directory.Directory. Feed it users and groups
// in any order, then call Directory once. The LDAP and LDIF sources share it
// so that both map entries exactly alike.
type Mapper struct {
	source       string
	users        config.LDAPUsers
	groups       config.LDAPGroups
	ad           *config.ADSettings
	nested       bool
	skipDisabled bool

	byID    map[string]*directory.User
	byDN    map[string]string   // canonical DN -> user ID
	byLogin map[string]string   // lower-cased login -> user ID; built by loginIndex
	shared  map[string][]string // lower-cased login -> DNs of the users sharing it; built by loginIndex
	logins  map[string][]string // user ID -> its login values after the first (few have any)
	order   []*directory.User   // users in the order added, for loginIndex
	skipped map[string]bool     // canonical DNs of user entries read but left out
	pending []*pendingGroup
	stats   Stats
	unread  []string // canonical DNs of subtrees the server referred elsewhere
	// required says which classes require a member attribute (the
	// server's schema; nil: no check).
	required requiredMembers

	primary    map[string][]string         // AD: primary group SID -> user IDs
	groupSID   map[*directory.Group]string // AD: each group's objectSid
	unresolved map[string]*MemberRef       // canonical DN -> reference, after Directory
	refOrder   []string                    // canonical DNs of unresolved, in first-seen order

	// IDFromDN makes a user without a value of the id attribute take its
	// DN as id instead of being skipped (LDIF exports often lack entryUUID).
	IDFromDN bool
	// ReferAll records every member reference that resolves to nothing
	// read, with nesting off too, and memberUid logins nobody read has
	// (UnresolvedLogins): the LDIF reader checks each against the whole
	// file, where a reference to no entry at all means a file cut short.
	ReferAll      bool
	loginRefs     map[string]*MemberRef // lower-cased login -> reference
	loginRefOrder []string
}

// pendingGroup holds a group until every user is known: its member DNs
// are looked up among the users by Directory, and those that name no user
// are kept (canonical) for the final pass.
type pendingGroup struct {
	g      *directory.Group
	values [][]string  // member DN values, as read
	users  []string    // resolved user IDs
	dns    []memberDNs // member DNs not yet resolved
	logins []string
}

type memberDNs struct{ orig, canon string }

// NewMapper returns a mapper for the given settings (defaults applied).
func NewMapper(source string, users config.LDAPUsers, groups config.LDAPGroups, ad *config.ADSettings) *Mapper {
	ApplyUserDefaults(&users)
	ApplyGroupDefaults(&groups)
	// Entries hold lower-cased attribute names: lower-cased once here,
	// the names cost nothing to look up per entry (entryUUID would be
	// lower-cased, and allocated, for every user read).
	for _, a := range []*string{&users.IDAttribute, &users.EmailAttribute, &users.NameAttribute, &users.LoginAttribute, &groups.NameAttribute} {
		*a = strings.ToLower(*a)
	}
	groups.MemberAttributes = lowerAll(groups.MemberAttributes)
	return &Mapper{
		source: source, users: users, groups: groups, ad: ad, nested: groups.Nested,
		skipDisabled: users.SkipDisabled || (ad != nil && ad.SkipDisabled),
		byID:         map[string]*directory.User{},
		byDN:         map[string]string{},
		skipped:      map[string]bool{},
		logins:       map[string][]string{},
		primary:      map[string][]string{},
		groupSID:     map[*directory.Group]string{},
	}
}

// AddUser maps one user entry. Entries without an id, with a duplicate id,
// or (when configured) disabled or locked are skipped and counted. It keeps
// nothing of e but its strings and copies of its value lists: the LDAP
// reader decodes the next entry into the same Entry (query.passing).
func (m *Mapper) AddUser(e *Entry) {
	if m.skipDisabled && disabled(e) {
		m.stats.Disabled++
		m.skip(e)
		return
	}
	id := m.UserID(e)
	if id == "" && m.IDFromDN {
		id = e.DN
	}
	switch {
	case id == "":
		m.stats.WithoutID++
		m.skip(e)
		return
	case m.byID[id] != nil:
		m.stats.DuplicateID++
		m.skip(e)
		return
	}
	u := &directory.User{
		ID:     id,
		DN:     e.DN,
		Login:  e.First(m.users.LoginAttribute),
		Name:   e.First(m.users.NameAttribute),
		Emails: m.emails(e),
	}
	m.byID[id] = u
	m.byDN[directory.CanonicalDN(e.DN)] = id
	m.order = append(m.order, u)
	if more := e.Values(m.users.LoginAttribute); len(more) > 1 {
		m.logins[id] = cloneAll(more[1:])
	}
	if m.ad == nil { // primary groups are Active Directory's alone
		return
	}
	if sid := primaryGroupSID(e); sid != "" {
		m.primary[sid] = append(m.primary[sid], id)
	}
}

// skip remembers a user entry left out: a group listing it is not
// missing a member it could have read, and the entry is no group.
func (m *Mapper) skip(e *Entry) { m.skipped[directory.CanonicalDN(e.DN)] = true }

// primaryGroupSID returns the SID of an AD user's primary group: its
// domain's SID (its own objectSid without the last part) and its
// primaryGroupID. Active Directory does not list a user in the member
// attribute of its primary group (Domain Users for most), so this is the
// only way to know that membership. "" when the entry lacks either.
func primaryGroupSID(e *Entry) string {
	rid := strings.TrimSpace(e.First("primaryGroupID"))
	sid, ok := formatSID([]byte(e.First("objectSid")))
	if rid == "" || !ok {
		return ""
	}
	if _, err := strconv.ParseUint(rid, 10, 32); err != nil {
		return ""
	}
	i := strings.LastIndexByte(sid, '-')
	return sid[:i+1] + rid
}

// UserID returns the id a user entry maps to ("" when it has none).
func (m *Mapper) UserID(e *Entry) string {
	return formatID(m.users.IDAttribute, e.First(m.users.IDAttribute))
}

// Unread records a subtree (by DN) that the server referred elsewhere
// instead of listing it. A group with a member there is unknown: that
// member may be a group whose members were never read.
func (m *Mapper) Unread(dn string) {
	if strings.TrimSpace(dn) != "" {
		m.unread = append(m.unread, directory.CanonicalDN(dn))
	}
}

func (m *Mapper) inUnread(canonical string) string {
	for _, base := range m.unread {
		if canonical == base || strings.HasSuffix(canonical, ","+base) {
			return base
		}
	}
	return ""
}

// Known reports whether a user with this id was added.
func (m *Mapper) Known(id string) bool { return m.byID[id] != nil }

// adminLocked is the pwdAccountLockedTime of an account an administrator
// locked (OpenLDAP's password policy overlay): locked until unlocked by
// hand. Any other value is the time of a lockout after failed binds, which
// ends by itself after pwdLockoutDuration: such a person is not switched
// off, and leaving them out would remove them from every group for an
// hour and add them back.
const adminLocked = "000001010000Z"

// disabled reports whether an account is switched off: Active Directory's
// userAccountControl disabled bit, 389-ds/FreeIPA's nsAccountLock, or
// OpenLDAP's administrative lock.
func disabled(e *Entry) bool {
	if uac := e.First("userAccountControl"); uac != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(uac), 10, 64)
		if err == nil && n&uacDisabled != 0 {
			return true
		}
	}
	if slices.ContainsFunc(e.Values("pwdAccountLockedTime"), func(v string) bool { return strings.TrimSpace(v) == adminLocked }) {
		return true
	}
	return slices.ContainsFunc(e.Values("nsAccountLock"), func(v string) bool {
		return strings.EqualFold(strings.TrimSpace(v), "true")
	})
}

// emails returns every address of the entry, normalised, primary first:
// the e-mail attribute's values, then (when enabled) the primary SMTP: and
// the smtp: aliases of proxyAddresses.
func (m *Mapper) emails(e *Entry) []string {
	var out []string
	add := func(s string) {
		if s = directory.NormalizeEmail(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, v := range e.Values(m.users.EmailAttribute) {
		add(v)
	}
	if m.users.ProxyAddresses {
		proxies := e.Values("proxyAddresses")
		for _, v := range proxies {
			if strings.HasPrefix(v, "SMTP:") {
				add(v[5:])
			}
		}
		for _, v := range proxies {
			if len(v) > 5 && strings.EqualFold(v[:5], "smtp:") {
				add(v[5:])
			}
		}
	}
	if len(out) == 0 {
		m.stats.WithoutEmail++
	}
	return out
}

// AddGroup maps one group entry. A non-nil readErr means the entry could not
// be read completely: the group is kept as unknown, its members untrusted.
func (m *Mapper) AddGroup(e *Entry, readErr error) {
	// Cloned: an entry's strings may share one copy of the whole entry
	// (decodeEntry), which the group would otherwise keep alive with all
	// its member values.
	g := &directory.Group{Name: strings.Clone(e.First(m.groups.NameAttribute)), DN: strings.Clone(e.DN), Err: readErr}
	if g.Name == "" {
		g.Name = g.DN
	}
	if readErr == nil {
		readErr = m.required.check(e)
		g.Err = readErr
	}
	p := &pendingGroup{g: g}
	m.pending = append(m.pending, p)
	if m.ad != nil {
		if sid, ok := formatSID([]byte(e.First("objectSid"))); ok {
			m.groupSID[g] = sid
		}
	}
	if readErr != nil {
		return
	}
	for _, attr := range m.groups.MemberAttributes {
		if vals := e.Values(attr); strings.EqualFold(attr, "memberUid") {
			p.logins = append(p.logins, vals...)
		} else if len(vals) > 0 {
			p.values = append(p.values, vals)
		}
	}
}

// lookUpMembers looks every group's member DNs up among the users, on as
// many goroutines as there are processors: a lookup in an index of
// 100,000 users costs a few cache misses, and a directory read has a
// million of them to make once the server has answered. No user is added
// meanwhile, so the index is only read, and each goroutine fills the
// groups it takes.
func (m *Mapper) lookUpMembers() {
	var next atomic.Int64
	work := func() {
		for i := next.Add(1) - 1; i < int64(len(m.pending)); i = next.Add(1) - 1 {
			p := m.pending[i]
			for _, vals := range p.values {
				for _, v := range vals {
					m.addMemberDN(p, memberDN(v))
				}
			}
			p.values = nil
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(m.pending)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// addMemberDN resolves a member DN to a user when possible; the rest waits
// for the final pass, where groups are known.
func (m *Mapper) addMemberDN(p *pendingGroup, dn string) {
	c := directory.CanonicalDN(dn)
	if id, ok := m.byDN[c]; ok {
		p.users = append(p.users, id)
		return
	}
	p.dns = append(p.dns, memberDNs{orig: dn, canon: c})
}

// memberDN strips the optional "#'0101'B" unique identifier of a
// uniqueMember value (nameAndOptionalUID syntax).
func memberDN(v string) string {
	if !strings.HasSuffix(v, "'B") { // nearly every value: no search for "#'"
		return v
	}
	if i := strings.LastIndex(v, "#'"); i > 0 {
		return v[:i]
	}
	return v
}

// Directory resolves every group's members and returns the result, not yet
// expanded: callers may adjust groups, then call Expand.
func (m *Mapper) Directory() *directory.Directory {
	groupDN := make(map[string]string, len(m.pending))
	for _, p := range m.pending {
		groupDN[directory.CanonicalDN(p.g.DN)] = p.g.DN
	}
	d := &directory.Directory{Source: m.source, Users: m.byID, Groups: make([]*directory.Group, 0, len(m.pending))}
	m.unresolved = map[string]*MemberRef{}
	m.lookUpMembers()
	for _, p := range m.pending {
		m.resolve(p, groupDN)
		d.Groups = append(d.Groups, p.g)
	}
	m.stats.Users = len(m.byID)
	m.pending = nil
	return d
}

func (m *Mapper) resolve(p *pendingGroup, groupDN map[string]string) {
	g := p.g
	for _, dn := range p.dns {
		c := dn.canon
		if id, ok := m.byDN[c]; ok {
			p.users = append(p.users, id)
		} else if sub, ok := groupDN[c]; ok && m.nested {
			g.Subgroups = append(g.Subgroups, sub)
		} else if base := m.inUnread(c); base != "" {
			if g.Err == nil {
				g.Err = fmt.Errorf("member %s lies under %s, which the server referred elsewhere: syncd does not follow referrals, so it cannot tell whether that member is a group (on Active Directory, the global catalog, port 3269, sees every domain of the forest)", dn.orig, base)
			}
		} else {
			g.Ignored++
			if (m.nested || m.ReferAll) && !m.skipped[c] && g.Err == nil {
				m.refer(c, dn.orig, g)
			}
		}
	}
	if sid := m.groupSID[g]; sid != "" && len(m.primary[sid]) > 0 && g.Err == nil {
		p.users = append(p.users, m.primary[sid]...)
		m.stats.PrimaryMembers += len(m.primary[sid])
	}
	for _, l := range p.logins {
		m.resolveLogin(p, l)
	}
	slices.Sort(p.users)
	g.DirectMembers = slices.Compact(p.users)
	slices.Sort(g.Subgroups)
	g.Subgroups = slices.Compact(g.Subgroups)
	m.stats.IgnoredReference += g.Ignored
}

// resolveLogin resolves one memberUid value of p's group. A login that two
// people share makes the group unknown: picking one would drop the other,
// who may be the member meant.
func (m *Mapper) resolveLogin(p *pendingGroup, login string) {
	key := LoginKey(login)
	m.loginIndex()
	if dns := m.shared[key]; len(dns) > 0 {
		if p.g.Err == nil {
			p.g.Err = fmt.Errorf("%w: memberUid %q is the %s of %d people (%s), so syncd cannot tell which one the group means",
				ErrSharedLogin, strings.TrimSpace(login), m.users.LoginAttribute, len(dns), strings.Join(dns, "; "))
		}
		return
	}
	if id, ok := m.byLogin[key]; ok {
		p.users = append(p.users, id)
		return
	}
	p.g.Ignored++
	if m.ReferAll && key != "" && p.g.Err == nil {
		m.referLogin(key, login, p.g)
	}
}

func (m *Mapper) referLogin(key, login string, g *directory.Group) {
	if m.loginRefs == nil {
		m.loginRefs = map[string]*MemberRef{}
	}
	r := m.loginRefs[key]
	if r == nil {
		r = &MemberRef{Login: strings.TrimSpace(login)}
		m.loginRefs[key] = r
		m.loginRefOrder = append(m.loginRefOrder, key)
	}
	if !slices.Contains(r.Groups, g) {
		r.Groups = append(r.Groups, g)
	}
}

// UnresolvedLogins returns, after Directory with ReferAll, the memberUid
// logins that no user read has, in the order first met.
func (m *Mapper) UnresolvedLogins() []*MemberRef {
	out := make([]*MemberRef, 0, len(m.loginRefOrder))
	for _, k := range m.loginRefOrder {
		out = append(out, m.loginRefs[k])
	}
	return out
}

// ErrSharedLogin is a memberUid that is the login of more than one person.
var ErrSharedLogin = errors.New("a memberUid names more than one person")

// loginIndex maps lower-cased logins (every value of the login attribute,
// as a name service resolves any of them) to user ids, built when a group
// first lists a memberUid: most directories have none, and a map insert
// per user costs a read of 100,000 people 30 ms. A login that two people
// share goes to shared instead, with their DNs.
func (m *Mapper) loginIndex() {
	if m.byLogin != nil {
		return
	}
	m.byLogin, m.shared = make(map[string]string, len(m.order)), map[string][]string{}
	for _, u := range m.order {
		m.indexLogin(u, u.Login)
		for _, l := range m.logins[u.ID] {
			m.indexLogin(u, l)
		}
	}
}

func (m *Mapper) indexLogin(u *directory.User, login string) {
	key := LoginKey(login)
	prev, seen := m.byLogin[key]
	switch {
	case key == "" || prev == u.ID:
	case len(m.shared[key]) > 0:
		if !slices.Contains(m.shared[key], u.DN) {
			m.shared[key] = append(m.shared[key], u.DN)
		}
	case seen:
		m.shared[key] = []string{m.byID[prev].DN, u.DN}
	default:
		m.byLogin[key] = u.ID
	}
}

// LoginKey is how logins compare: case and surrounding spaces aside.
func LoginKey(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func cloneAll(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Clone(v)
	}
	return out
}

// refer records a member DN that resolved to nothing read.
func (m *Mapper) refer(canon, orig string, g *directory.Group) {
	r := m.unresolved[canon]
	if r == nil {
		r = &MemberRef{DN: strings.Clone(orig)} // not the whole entry (AddGroup)
		m.unresolved[canon] = r
		m.refOrder = append(m.refOrder, canon)
	}
	if !slices.Contains(r.Groups, g) {
		r.Groups = append(r.Groups, g)
	}
}

// Unresolved returns, after Directory, the member DNs (with nesting on) that
// named no user or group read, were not left out on purpose (a disabled
// account) and lie under no referred subtree, in the order first met. Each
// already counts in its groups' Ignored; a caller that finds one to be a
// group makes those groups unknown.
func (m *Mapper) Unresolved() []*MemberRef {
	out := make([]*MemberRef, 0, len(m.refOrder))
	for _, c := range m.refOrder {
		out = append(out, m.unresolved[c])
	}
	return out
}

// PrimaryGroups returns, after Directory, the users of each AD primary
// group (by the group's SID), and the SID of every group read. A group
// whose SID has users got them as direct members.
func (m *Mapper) PrimaryGroups() (users map[string][]string, groupSID map[*directory.Group]string) {
	return m.primary, m.groupSID
}

// ErrNoEmails is a read in which nobody has an e-mail address: the e-mail
// attribute is misnamed, or an access rule hides it from syncd's account
// (which reads as no value at all). Nobody would match a Teams account,
// and every group would read as empty.
var ErrNoEmails = errors.New("no person read has an e-mail address")

// CheckRead refuses, after Directory, a read that cannot be the directory
// as it is: no user while groups list members (ErrNoUsers), or users none
// of whom has an e-mail address (ErrNoEmails).
func (m *Mapper) CheckRead(d *directory.Directory) error {
	if err := noUsersSeen(d, m.users); err != nil {
		return err
	}
	if n := len(d.Users); n > 0 && m.stats.WithoutEmail >= n {
		also := ""
		if m.users.ProxyAddresses {
			also = " or of proxyAddresses"
		}
		return fmt.Errorf("%w: none of the %d people read has a value of %s%s: check users.email_attribute, and that syncd's account may read that attribute",
			ErrNoEmails, n, m.users.EmailAttribute, also)
	}
	return nil
}

// Stats returns the counts gathered so far (complete after Directory).
func (m *Mapper) Stats() Stats { return m.stats }
