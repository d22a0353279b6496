package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// sourceName is what a source may be called: it appears in URLs
// (/scim/<name>/v2), metrics labels and file names.
var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (c *checker) validateSources() {
	if len(c.cfg.Sources) == 0 {
		c.errorf("sources", "sources: at least one source (ldap, scim, scim_receiver or ldif) is required")
	}
	seen := map[string]int{}
	for i := range c.cfg.Sources {
		s := &c.cfg.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			c.errorf(p+".name", "%s.name is required (lower-case letters, digits, - and _)", p)
		case !sourceName.MatchString(s.Name):
			c.errorf(p+".name", "%s.name %q: use lower-case letters, digits, - and _ (at most 63, starting with a letter or digit); it appears in URLs", p, s.Name)
		default:
			if j, dup := seen[s.Name]; dup {
				c.errorf(p+".name", "%s.name %q is already the name of sources[%d]: source names must be unique", p, s.Name, j)
			}
			seen[s.Name] = i
		}
		c.validateSource(p, s)
	}
}

func (c *checker) validateSource(p string, s *Source) {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{KindLDAP, s.LDAP != nil}, {KindSCIM, s.SCIM != nil}, {KindSCIMReceiver, s.SCIMReceiver != nil}, {KindLDIF, s.LDIF != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		c.errorf(p, "%s: give the source one of ldap:, scim:, scim_receiver: or ldif:", p)
		return
	case 1:
	default:
		c.errorf(p+"."+kinds[1], "%s: a source reads from one place, but it has %s: split it into several sources", p, strings.Join(kinds, " and "))
		return
	}
	switch {
	case s.LDAP != nil:
		c.validateLDAP(p+".ldap", s.LDAP)
	case s.SCIM != nil:
		c.validateSCIM(p+".scim", s.SCIM)
	case s.SCIMReceiver != nil:
		c.validateReceiver(p+".scim_receiver", s.SCIMReceiver)
	case s.LDIF != nil:
		c.validateLDIF(p+".ldif", s.LDIF)
	}
}

func (c *checker) validateLDAP(p string, l *LDAP) {
	if len(l.URLs) == 0 {
		c.errorf(p+".url", "%s.url is required, e.g. ldaps://ldap.example.com", p)
	}
	for i, raw := range l.URLs {
		key := p + ".url"
		if c.cfg.pos.has(fmt.Sprintf("%s[%d]", key, i)) {
			key = fmt.Sprintf("%s[%d]", key, i)
		}
		c.ldapURL(key, raw, l.StartTLS)
	}
	c.caFile(p+".ca_file", l.CAFile)
	if l.BindDN != "" {
		c.bindName(p, l.BindDN, l.ActiveDirectory != nil)
		if l.BindPassword == "" && l.BindPasswordFile == "" {
			c.errorf(p+".bind_dn", "%s.bind_dn is set but neither bind_password nor bind_password_file is (leave bind_dn out for an anonymous bind)", p)
		}
	} else if l.BindPassword != "" {
		key := p + ".bind_password"
		if l.BindPasswordFile != "" {
			key += "_file"
		}
		c.errorf(key, "%s: a bind password without %s.bind_dn: add the DN to bind as", key, p)
	}
	if l.PageSize < 1 || l.PageSize > 10000 {
		c.errorf(p+".page_size", "%s.page_size %d is out of range: use 1 to 10000 (Active Directory returns at most 1000 per page)", p, l.PageSize)
	}
	c.positive(p+".timeout", l.Timeout)
	c.entries(p, &l.Users, &l.Groups, true)
	c.oneOf(p+".watch.feed", l.Watch.Feed, FeedAuto, FeedSyncrepl, FeedPersistentSearch, FeedDirSync, FeedUSNChanged, FeedModifyTimestamp, FeedNone)
	c.positive(p+".watch.poll_interval", l.Watch.PollInterval)
	if ad := l.ActiveDirectory; ad != nil && ad.InChainLookup && !l.Groups.Nested {
		c.errorf(p+".active_directory.in_chain_lookup", "%s.active_directory.in_chain_lookup resolves nested groups: set %s.groups.nested: true as well", p, p)
	}
}

// bindName checks bind_dn: a DN, or on Active Directory (which accepts
// them for simple binds) a user principal name (svc@corp.example.com) or a
// down-level logon name (CORP\svc), as AD guides write them.
func (c *checker) bindName(p, name string, ad bool) {
	_, err := ldap.ParseDN(name)
	switch {
	case err == nil:
	case isADBindName(name) && ad:
	case isADBindName(name):
		c.errorf(p+".bind_dn", "%s.bind_dn \"%s\" is an Active Directory bind name (user@domain or DOMAIN\\user), which only Active Directory accepts: if the server is Active Directory, add active_directory: {} to this source; otherwise write the account's DN (e.g. uid=svc-syncd,ou=services,dc=example,dc=com)", p, name)
	default:
		c.errorf(p+".bind_dn", "%s.bind_dn %q is not a valid DN (e.g. cn=svc-syncd,ou=services,dc=example,dc=com; on Active Directory also svc-syncd@corp.example.com or CORP\\svc-syncd): %v", p, name, err)
	}
}

// Active Directory's other bind names: a user principal name and a
// down-level logon name (NetBIOS domain, backslash, sAMAccountName).
var (
	upnName       = regexp.MustCompile(`^[^@\s\\]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
	downLevelName = regexp.MustCompile(`^[A-Za-z0-9][^\\/:*?"<>|\s]{0,14}\\[^\\/"\[\]:;|=,+*?<>@]{1,64}$`)
)

// isADBindName reports whether name is an Active Directory user principal
// name (svc@corp.example.com) or down-level logon name (CORP\svc).
func isADBindName(name string) bool {
	return upnName.MatchString(name) || downLevelName.MatchString(name)
}

func (c *checker) ldapURL(key, raw string, startTLS bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		c.errorf(key, "%s is not a valid LDAP URL: write ldap://HOST[:PORT] or ldaps://HOST[:PORT]", key)
		return
	}
	shown := shownURL(u)
	switch {
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		c.errorf(key, "%s %q: the scheme must be ldap:// or ldaps://", key, shown)
	case u.Hostname() == "":
		c.errorf(key, "%s %q has no host", key, shown)
	case !validPort(u.Port()):
		c.errorf(key, "%s %q: the port must be a number from 1 to 65535", key, shown)
	case u.Path != "" && u.Path != "/":
		c.errorf(key, "%s %q: the base DN does not go in the URL; set users.base_dn and groups.base_dn", key, shown)
	case u.Scheme == "ldaps" && startTLS:
		c.errorf(key, "%s %q is already TLS (ldaps://): start_tls is for ldap:// URLs; drop one of them", key, shown)
	}
}

// attrName is an LDAP attribute description: a name or a numeric OID.
var attrName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$`)

// entries validates the user and group search settings shared by LDAP and
// LDIF; an LDIF file may leave base DNs out (the whole file is read).
func (c *checker) entries(p string, u *LDAPUsers, g *LDAPGroups, needBase bool) {
	c.search(p+".users", u.BaseDN, u.Scope, u.Filter, needBase)
	c.search(p+".groups", g.BaseDN, g.Scope, g.Filter, needBase)
	for _, a := range []struct{ key, val string }{
		{".users.id_attribute", u.IDAttribute}, {".users.email_attribute", u.EmailAttribute},
		{".users.name_attribute", u.NameAttribute}, {".users.login_attribute", u.LoginAttribute},
		{".groups.name_attribute", g.NameAttribute},
	} {
		c.attribute(p+a.key, a.val)
	}
	for i, a := range g.MemberAttributes {
		c.attribute(fmt.Sprintf("%s.groups.member_attributes[%d]", p, i), a)
	}
}

func (c *checker) search(p, base, scope, filter string, needBase bool) {
	if base == "" && needBase {
		c.errorf(p+".base_dn", "%s.base_dn is required, e.g. ou=people,dc=example,dc=com", p)
	} else if base != "" {
		if _, err := ldap.ParseDN(base); err != nil {
			c.errorf(p+".base_dn", "%s.base_dn %q is not a valid DN: %v", p, base, err)
		}
	}
	c.oneOf(p+".scope", scope, "sub", "one")
	if _, err := ldap.CompileFilter(filter); err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.Err != nil {
			err = le.Err
		}
		c.errorf(p+".filter", "%s.filter %q is not a valid LDAP filter (RFC 4515, e.g. (objectClass=person)): %v", p, filter, err)
	}
}

func (c *checker) attribute(key, val string) {
	if !attrName.MatchString(val) {
		c.errorf(key, "%s %q is not an LDAP attribute name", key, val)
	}
}

func (c *checker) validateSCIM(p string, s *SCIM) {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		c.errorf(p+".url", "%s.url is required: the SCIM base, e.g. https://idp.example.com/scim/v2", p)
	case err != nil || u.User != nil:
		c.errorf(p+".url", "%s.url is not a valid URL without credentials: put the token in token or token_file", p)
	case u.Scheme != "http" && u.Scheme != "https":
		c.errorf(p+".url", "%s.url %q: the scheme must be https:// (or http://)", p, shownURL(u))
	case u.Host == "":
		c.errorf(p+".url", "%s.url %q has no host", p, shownURL(u))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		// The reader adds its own query to every request: this one would
		// be dropped, and a provider reading a key from it would answer 401.
		c.errorf(p+".url", "%s.url %q: remove the ?query or #fragment (a token goes in token or token_file; syncd sends it as Authorization: Bearer)", p, shownURL(u))
	}
	if s.Token == "" && s.TokenFile == "" {
		c.errorf(p+".token", "%s.token or %s.token_file is required: the bearer token syncd reads with", p, p)
	}
	c.token(p+".token", s.Token, s.TokenFile)
	c.caFile(p+".ca_file", s.CAFile)
	c.positive(p+".timeout", s.Timeout)
}

func (c *checker) validateReceiver(p string, r *SCIMReceiver) {
	if r.Token == "" && r.TokenFile == "" {
		c.errorf(p+".token", "%s.token or %s.token_file is required: the bearer token the identity provider sends (generate one with: openssl rand -hex 32)", p, p)
	}
	c.token(p+".token", r.Token, r.TokenFile)
	if r.SyncDelay < 0 {
		c.errorf(p+".sync_delay", "%s.sync_delay must not be negative", p)
	}
	if c.cfg.Sync.StateDir == "" {
		c.errorf(p, "%s needs sync.state_dir: what the identity provider sends is stored there", p)
	}
}

func (c *checker) validateLDIF(p string, l *LDIF) {
	// A file not there (yet) is the export's failure, not the
	// configuration's: each run fails with exit 1, and Warnings says so.
	if l.Path == "" {
		c.errorf(p+".path", "%s.path is required: the LDIF file to read", p)
	} else if info, err := os.Stat(l.Path); err == nil && info.IsDir() {
		c.errorf(p+".path", "%s.path: %s is a directory, not an LDIF file", p, l.Path)
	}
	c.entries(p, &l.Users, &l.Groups, false)
}

// validPort accepts "" (the scheme's default) or 1..65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
