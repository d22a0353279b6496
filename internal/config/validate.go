package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/robfig/cron/v3"
)

// validate checks every field after complete; messages say what to write.
func (c *checker) validate() {
	cfg := c.cfg
	c.validateTeams(&cfg.Teams)
	c.validateSources()
	c.validateMappings()
	c.validateSMEs()
	c.validateSync(&cfg.Sync)
	c.validateServer(&cfg.Server)
	c.oneOf("log.level", cfg.Log.Level, "debug", "info", "warn", "error")
	c.oneOf("log.format", cfg.Log.Format, "json", "console")
}

// apiPath is the path of an API v3 base URL: /v3/teams/T (Business),
// /api/v3 or /api/v3/teams/T (Enterprise), possibly under a prefix.
var apiPath = regexp.MustCompile(`^(/[^/]+)*/(v3/teams/[^/]+|api/v3(/teams/[^/]+)?)/?$`)

func (c *checker) validateTeams(t *Teams) {
	if t.URL == "" {
		c.errorf("teams.url", "teams.url is required: the API v3 base, e.g. https://api.stackoverflowteams.com/v3/teams/YOUR-TEAM")
	} else if seed, ok := t.EmulatorSeed(); ok {
		c.emulatorSeed(seed)
	} else {
		c.teamsURL(t.URL)
		if t.Token == "" && t.TokenFile == "" { // a bad file is reported by itself
			c.errorf("teams.token", "teams.token or teams.token_file is required: an API v3 access token (Teams settings > API access)")
		}
	}
	c.token("teams.token", t.Token, t.TokenFile)
	if strings.ContainsFunc(t.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		c.errorf("teams.user_agent", "teams.user_agent contains control characters (line breaks?); write it on one line")
	}
	c.caFile("teams.ca_file", t.CAFile)
	c.positive("teams.timeout", t.Timeout)
}

func (c *checker) emulatorSeed(seed string) {
	if seed == "" {
		c.errorf("teams.url", "teams.url: emulator: needs the seed file after the colon, e.g. emulator:seed.json")
		return
	}
	if _, err := os.Stat(seed); err != nil {
		c.errorf("teams.url", "teams.url: emulator seed %s: %v", seed, unwrapPath(err))
	}
}

func (c *checker) teamsURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		// The URL is not echoed: it may hold credentials.
		c.errorf("teams.url", "teams.url is not a valid URL without credentials: write https://HOST/PATH and put the token in teams.token or teams.token_file")
		return
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		c.errorf("teams.url", "teams.url %q: the scheme must be https:// (or http://, or emulator:SEED.json for the local emulator)", raw)
	case u.Host == "":
		c.errorf("teams.url", "teams.url %q has no host", raw)
	case u.RawQuery != "" || u.Fragment != "":
		c.errorf("teams.url", "teams.url %q: remove the ?query or #fragment", raw)
	case !apiPath.MatchString(u.Path):
		c.errorf("teams.url", "teams.url %q is not an API v3 base URL: use https://api.stackoverflowteams.com/v3/teams/TEAM (Business, Basic), https://HOST/api/v3 (Enterprise) or https://HOST/api/v3/teams/TEAM (Enterprise private team)", raw)
	}
}

// token rejects whitespace inside a token, a sign of a pasted or badly
// written secret. The value itself is never shown.
func (c *checker) token(key string, s Secret, file string) {
	if s == "" || !strings.ContainsAny(string(s), " \t\r\n") {
		return
	}
	if file != "" {
		c.errorf(key+"_file", "%s_file: the token in %s contains spaces or line breaks; a token is one word", key, file)
		return
	}
	c.errorf(key, "%s contains spaces or line breaks; a token is one word", key)
}

// caFile checks that an extra CA bundle exists and holds certificates.
func (c *checker) caFile(key, file string) {
	if file == "" {
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		c.errorf(key, "%s: cannot read %s: %v", key, file, unwrapPath(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		c.errorf(key, "%s: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", key, file)
	}
}

func (c *checker) positive(key string, d Duration) {
	if d <= 0 {
		c.errorf(key, "%s must be longer than 0 (e.g. 30s)", key)
	}
}

func (c *checker) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	c.errorf(key, "%s %q is not one of: %s", key, val, strings.Join(allowed, ", "))
}

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
		if _, err := ldap.ParseDN(l.BindDN); err != nil {
			c.errorf(p+".bind_dn", "%s.bind_dn %q is not a valid DN: %v", p, l.BindDN, err)
		}
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
	if ad := l.ActiveDirectory; ad != nil && ad.InChainLookup && !l.Groups.Nested {
		c.errorf(p+".active_directory.in_chain_lookup", "%s.active_directory.in_chain_lookup resolves nested groups: set %s.groups.nested: true as well", p, p)
	}
}

func (c *checker) ldapURL(key, raw string, startTLS bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		c.errorf(key, "%s is not a valid LDAP URL: write ldap://HOST[:PORT] or ldaps://HOST[:PORT]", key)
		return
	}
	switch {
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		c.errorf(key, "%s %q: the scheme must be ldap:// or ldaps://", key, raw)
	case u.Hostname() == "":
		c.errorf(key, "%s %q has no host", key, raw)
	case !validPort(u.Port()):
		c.errorf(key, "%s %q: the port must be a number from 1 to 65535", key, raw)
	case u.Path != "" && u.Path != "/":
		c.errorf(key, "%s %q: the base DN does not go in the URL; set users.base_dn and groups.base_dn", key, raw)
	case u.Scheme == "ldaps" && startTLS:
		c.errorf(key, "%s %q is already TLS (ldaps://): start_tls is for ldap:// URLs; drop one of them", key, raw)
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
		c.errorf(p+".url", "%s.url %q: the scheme must be https:// (or http://)", p, s.URL)
	case u.Host == "":
		c.errorf(p+".url", "%s.url %q has no host", p, s.URL)
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
	if l.Path == "" {
		c.errorf(p+".path", "%s.path is required: the LDIF file to read", p)
	} else if info, err := os.Stat(l.Path); err != nil {
		c.errorf(p+".path", "%s.path: cannot read %s: %v", p, l.Path, unwrapPath(err))
	} else if info.IsDir() {
		c.errorf(p+".path", "%s.path: %s is a directory, not an LDIF file", p, l.Path)
	}
	c.entries(p, &l.Users, &l.Groups, false)
}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

func (c *checker) validateMappings() {
	for i := range c.cfg.Groups {
		c.validateMapping(fmt.Sprintf("groups[%d]", i), &c.cfg.Groups[i])
	}
	c.mappingConflicts()
}

func (c *checker) validateMapping(p string, m *Mapping) {
	c.sourceRef(p+".source", m.Source)
	switch {
	case m.From != "" && m.Match != "":
		c.errorf(p+".match", "%s: from and match are both set: from names one directory group, match is a glob over many; keep one", p)
	case m.From == "" && m.Match == "":
		c.errorf(p, "%s: set from (a directory group name or DN) or match (a glob such as \"team-*\")", p)
	case m.Match != "":
		if _, err := path.Match(m.Match, ""); err != nil {
			c.errorf(p+".match", "%s.match %q is not a valid glob (*, ?, [a-z]; escape with \\)", p, m.Match)
		}
	}
	c.mappingTarget(p, m)
	if m.Membership != "" {
		c.oneOf(p+".membership", m.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
	}
}

// mappingTarget checks `to`: required, and a template with {name} exactly
// when the mapping matches many groups.
func (c *checker) mappingTarget(p string, m *Mapping) {
	if m.To == "" {
		c.errorf(p+".to", "%s.to is required: the Teams user group name", p)
		return
	}
	for _, ph := range placeholder.FindAllString(m.To, -1) {
		if ph != "{name}" {
			c.errorf(p+".to", "%s.to %q: unknown placeholder %s; only {name} (the directory group's name) exists", p, m.To, ph)
			return
		}
	}
	hasName := strings.Contains(m.To, "{name}")
	switch {
	case m.From != "" && m.Match != "":
		// reported above
	case m.Match != "" && !hasName:
		c.errorf(p+".to", "%s.to %q has no {name}: every group matching %q would land in that one Teams group; write e.g. \"Team {name}\"", p, m.To, m.Match)
	case m.From != "" && hasName:
		c.errorf(p+".to", "%s.to %q: {name} only expands with match; write the Teams group name", p, m.To)
	}
}

func (c *checker) sourceRef(key, name string) {
	if name == "" {
		c.errorf(key, "%s is required: the name of one of the sources (%s)", key, c.sourceNames())
		return
	}
	if c.cfg.Source(name) == nil {
		c.errorf(key, "%s: there is no source named %q (sources: %s)", key, name, c.sourceNames())
	}
}

func (c *checker) sourceNames() string {
	var names []string
	for _, s := range c.cfg.Sources {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "none defined"
	}
	return strings.Join(names, ", ")
}

// mappingConflicts: several mappings may feed one Teams group (its members
// are the union), but they must agree on how it is managed and described,
// or each run would undo the other's work.
func (c *checker) mappingConflicts() {
	type first struct {
		i    int
		mode string
		desc string
	}
	byTo := map[string]first{}
	exact := map[string]int{}
	for i, m := range c.cfg.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		if m.To == "" {
			continue
		}
		key := strings.Join([]string{m.Source, strings.ToLower(m.From), m.Match, strings.ToLower(m.To)}, "\x00")
		if j, dup := exact[key]; dup {
			c.errorf(p, "%s repeats groups[%d] (same source, directory group and Teams group): remove one", p, j)
			continue
		}
		exact[key] = i
		to := strings.ToLower(m.To)
		mode := m.MembershipMode(c.cfg.Sync.Membership)
		f, seen := byTo[to]
		if !seen {
			byTo[to] = first{i, mode, m.Description}
			continue
		}
		if f.mode != mode {
			c.errorf(p+".membership", "%s feeds Teams group %q with membership %s, but groups[%d] feeds it with %s: mappings onto one Teams group need the same membership mode", p, m.To, mode, f.i, f.mode)
		}
		if m.Description != "" && f.desc != "" && m.Description != f.desc {
			c.errorf(p+".description", "%s gives Teams group %q a different description than groups[%d]: set it on one of them", p, m.To, f.i)
		}
		if f.desc == "" {
			byTo[to] = first{f.i, f.mode, m.Description}
		}
	}
}

func (c *checker) validateSMEs() {
	tags := map[string]int{}
	for i, s := range c.cfg.SMEs {
		p := fmt.Sprintf("smes[%d]", i)
		switch {
		case s.Tag == "":
			c.errorf(p+".tag", "%s.tag is required: the tag whose subject-matter experts syncd manages", p)
		case strings.ContainsAny(s.Tag, " \t"):
			c.errorf(p+".tag", "%s.tag %q: tag names have no spaces (Teams uses hyphens, e.g. google-cloud)", p, s.Tag)
		default:
			if j, dup := tags[strings.ToLower(s.Tag)]; dup {
				c.errorf(p+".tag", "%s.tag %q is already managed by smes[%d]: merge the two rules", p, s.Tag, j)
			}
			tags[strings.ToLower(s.Tag)] = i
		}
		if len(s.UsersFrom) == 0 && len(s.Groups) == 0 {
			c.errorf(p, "%s: give users_from (directory groups whose members become SMEs) or groups (Teams user groups), or both", p)
		}
		for j, r := range s.UsersFrom {
			q := fmt.Sprintf("%s.users_from[%d]", p, j)
			c.sourceRef(q+".source", r.Source)
			if r.Group == "" {
				c.errorf(q+".group", "%s.group is required: a directory group name or DN", q)
			}
		}
		for j, g := range s.Groups {
			if strings.TrimSpace(g) == "" {
				c.errorf(fmt.Sprintf("%s.groups[%d]", p, j), "%s.groups[%d] is empty: write a Teams user group name", p, j)
			}
		}
		if s.Membership != "" {
			c.oneOf(p+".membership", s.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
		}
	}
}

func (c *checker) validateSync(s *Sync) {
	c.oneOf("sync.membership", s.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
	if s.MaxRemovals < 0 {
		c.errorf("sync.max_removals", "sync.max_removals %d must be 0 or more (0 holds every removal)", s.MaxRemovals)
	}
	if s.MaxRemovalPercent < 0 || s.MaxRemovalPercent > 100 {
		c.errorf("sync.max_removal_percent", "sync.max_removal_percent %v must be between 0 and 100", s.MaxRemovalPercent)
	}
	if _, err := cron.ParseStandard(s.Schedule); err != nil {
		c.errorf("sync.schedule", "sync.schedule %q is not a schedule: %v (write 5 cron fields such as \"*/30 * * * *\", or @every 30m, @hourly, @daily)", s.Schedule, err)
	}
	if s.Jitter < 0 {
		c.errorf("sync.jitter", "sync.jitter must not be negative")
	}
	if s.StateDir == "" {
		if key := c.managedAt(); key != "" {
			c.errorf(key, "%s: membership managed needs sync.state_dir: the ledger of the members syncd added is kept there", key)
		}
	}
}

// managedAt names the first key that asks for managed membership, or "".
func (c *checker) managedAt() string {
	if c.cfg.Sync.Membership == MembershipManaged {
		return "sync.membership"
	}
	for i, m := range c.cfg.Groups {
		if m.Membership == MembershipManaged {
			return fmt.Sprintf("groups[%d].membership", i)
		}
	}
	for i, s := range c.cfg.SMEs {
		if s.Membership == MembershipManaged {
			return fmt.Sprintf("smes[%d].membership", i)
		}
	}
	return ""
}

func (c *checker) validateServer(s *Server) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		c.errorf("server.listen", "server.listen %q is not HOST:PORT (e.g. 127.0.0.1:9184, or :9184 for every interface)", s.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.errorf("server.listen", "server.listen %q: the port must be a number from 0 to 65535", s.Listen)
	} else if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		c.errorf("server.listen", "server.listen %q: %q is not an IP address or host name", s.Listen, host)
	}
	c.token("server.sync_token", s.SyncToken, s.SyncTokenFile)
}

// validPort accepts "" (the scheme's default) or 1..65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

func validHostname(h string) bool { return len(h) <= 253 && hostname.MatchString(h) }
