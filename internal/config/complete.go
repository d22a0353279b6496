package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/version"
)

// Defaults (DESIGN.md §5).
const (
	DefaultTeamsTimeout      = 30 * time.Second
	DefaultLDAPPageSize      = 500
	DefaultLDAPTimeout       = 30 * time.Second
	DefaultSCIMTimeout       = 30 * time.Second
	DefaultSyncDelay         = 30 * time.Second
	DefaultWatchDelay        = 2 * time.Second
	DefaultPollInterval      = 5 * time.Second
	DefaultMaxRemovals       = 100
	DefaultMaxRemovalPercent = 25
	DefaultPercentFloor      = 3
	DefaultAuditRetention    = Duration(400 * Day)
	DefaultSchedule          = "@every 30m"
	DefaultPendingRecheck    = Duration(time.Hour)
	DefaultListen            = "127.0.0.1:9184"
	DefaultUserFilter        = "(objectClass=inetOrgPerson)"
	DefaultGroupFilter       = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"
	// Active Directory has other classes and attributes; these apply when
	// the source has an active_directory block.
	DefaultADUserFilter  = "(&(objectCategory=person)(objectClass=user))"
	DefaultADGroupFilter = "(objectClass=group)"
)

// checker completes a decoded Config (paths, secrets, defaults) and
// validates it, collecting every problem with its position.
type checker struct {
	cfg  *Config
	dir  string // directory of the config file: relative paths start here
	errs []*Error
}

func (c *checker) errorf(path, format string, args ...any) {
	p := c.cfg.pos.at(path)
	c.errs = append(c.errs, &Error{File: c.cfg.Path, Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...)})
}

// errors returns the problems in file order.
func (c *checker) errors() []error {
	slices.SortStableFunc(c.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	out := make([]error, len(c.errs))
	for i, e := range c.errs {
		out[i] = e
	}
	return out
}

func (c *checker) has(path string) bool { return c.cfg.pos.has(path) }

// complete resolves paths, reads secret files and applies defaults.
func (c *checker) complete() {
	cfg := c.cfg
	c.completeTeams(&cfg.Teams)
	for i := range cfg.Sources {
		c.completeSource(fmt.Sprintf("sources[%d]", i), &cfg.Sources[i])
	}
	for i := range cfg.Groups {
		cfg.Groups[i].line = cfg.pos.at(fmt.Sprintf("groups[%d]", i)).Line
	}
	c.completeSync(&cfg.Sync)
	c.path(&cfg.Server.SyncTokenFile)
	c.secret("server.sync_token", &cfg.Server.SyncToken, &cfg.Server.SyncTokenFile)
	cfg.Server.Listen = cmp.Or(cfg.Server.Listen, DefaultListen)
	c.completeNotify(&cfg.Notify)
	cfg.Log.Level = cmp.Or(cfg.Log.Level, "info")
	cfg.Log.Format = cmp.Or(cfg.Log.Format, "json")
}

func (c *checker) completeTeams(t *Teams) {
	if seed, ok := t.EmulatorSeed(); ok && seed != "" {
		c.path(&seed)
		t.URL = EmulatorScheme + seed
	}
	c.path(&t.TokenFile)
	c.path(&t.CAFile)
	c.secret("teams.token", &t.Token, &t.TokenFile)
	c.duration("teams.timeout", &t.Timeout, DefaultTeamsTimeout)
	t.UserAgent = cmp.Or(t.UserAgent, version.UserAgent())
}

func (c *checker) completeSource(p string, s *Source) {
	if l := s.LDAP; l != nil {
		p := p + ".ldap"
		c.nested(p+".groups.nested", &l.Groups.Nested)
		c.path(&l.CAFile)
		c.path(&l.BindPasswordFile)
		c.secret(p+".bind_password", &l.BindPassword, &l.BindPasswordFile)
		if !c.has(p + ".page_size") {
			l.PageSize = DefaultLDAPPageSize
		}
		c.duration(p+".timeout", &l.Timeout, DefaultLDAPTimeout)
		completeEntries(&l.Users, &l.Groups, l.ActiveDirectory != nil)
		l.Watch.Feed = cmp.Or(l.Watch.Feed, FeedAuto)
		c.duration(p+".watch.poll_interval", &l.Watch.PollInterval, DefaultPollInterval)
		if ad := l.ActiveDirectory; ad != nil && ad.SkipDisabled {
			l.Users.SkipDisabled = true // the older spelling of the same switch
		}
		if l.ActiveDirectory != nil && !c.has(p+".users.skip_disabled") && !c.has(p+".active_directory.skip_disabled") {
			// Active Directory offboards by disabling the account: a
			// disabled person is a leaver, who would otherwise keep every
			// group and SME list (GitLab's LDAP sync blocks them too).
			l.Users.SkipDisabled = true
		}
	}
	if l := s.LDIF; l != nil {
		c.path(&l.Path)
		completeEntries(&l.Users, &l.Groups, false)
		c.nested(p+".ldif.groups.nested", &l.Groups.Nested)
	}
	if sc := s.SCIM; sc != nil {
		c.path(&sc.CAFile)
		c.path(&sc.TokenFile)
		c.secret(p+".scim.token", &sc.Token, &sc.TokenFile)
		c.duration(p+".scim.timeout", &sc.Timeout, DefaultSCIMTimeout)
		c.nested(p+".scim.nested", &sc.Nested)
	}
	if r := s.SCIMReceiver; r != nil {
		c.path(&r.TokenFile)
		c.secret(p+".scim_receiver.token", &r.Token, &r.TokenFile)
		c.duration(p+".scim_receiver.sync_delay", &r.SyncDelay, DefaultSyncDelay)
	}
}

// completeEntries fills the LDAP entry mapping's defaults, which differ on
// Active Directory.
func completeEntries(u *LDAPUsers, g *LDAPGroups, ad bool) {
	u.Scope = cmp.Or(u.Scope, "sub")
	g.Scope = cmp.Or(g.Scope, "sub")
	u.EmailAttribute = cmp.Or(u.EmailAttribute, "mail")
	u.NameAttribute = cmp.Or(u.NameAttribute, "cn")
	g.NameAttribute = cmp.Or(g.NameAttribute, "cn")
	if ad {
		u.Filter = cmp.Or(u.Filter, DefaultADUserFilter)
		u.IDAttribute = cmp.Or(u.IDAttribute, "objectGUID")
		u.LoginAttribute = cmp.Or(u.LoginAttribute, "sAMAccountName")
		g.Filter = cmp.Or(g.Filter, DefaultADGroupFilter)
		if len(g.MemberAttributes) == 0 {
			g.MemberAttributes = []string{"member"}
		}
		return
	}
	u.Filter = cmp.Or(u.Filter, DefaultUserFilter)
	u.IDAttribute = cmp.Or(u.IDAttribute, "entryUUID")
	u.LoginAttribute = cmp.Or(u.LoginAttribute, "uid")
	g.Filter = cmp.Or(g.Filter, DefaultGroupFilter)
	if len(g.MemberAttributes) == 0 {
		g.MemberAttributes = []string{"member", "uniqueMember", "memberUid"}
	}
}

func (c *checker) completeSync(s *Sync) {
	c.path(&s.StateDir)
	s.Membership = cmp.Or(s.Membership, MembershipExact)
	s.Schedule = cmp.Or(s.Schedule, DefaultSchedule)
	if !c.has("sync.max_removals") {
		s.MaxRemovals = DefaultMaxRemovals
	}
	if !c.has("sync.max_removal_percent") {
		s.MaxRemovalPercent = DefaultMaxRemovalPercent
	}
	if !c.has("sync.max_removal_percent_floor") {
		s.MaxRemovalPercentFloor = DefaultPercentFloor
	}
	if !c.has("sync.audit_retention") {
		s.AuditRetention = DefaultAuditRetention
	}
	if !c.has("sync.pending_recheck") {
		s.PendingRecheck = DefaultPendingRecheck
	}
	c.duration("sync.watch_delay", &s.WatchDelay, DefaultWatchDelay)
	if s.RunAtStart == nil {
		on := true
		s.RunAtStart = &on
	}
}

// nested defaults to true: to most admins a member of a subgroup is a
// member of the group, and counting them out would remove people.
func (c *checker) nested(path string, b *bool) {
	if !c.has(path) {
		*b = true
	}
}

// duration sets a default for a duration left out of the file.
func (c *checker) duration(path string, d *Duration, def time.Duration) {
	if !c.has(path) {
		*d = Duration(def)
	}
}

// path makes a relative path absolute against the config file's directory,
// so the same file works whatever the working directory of syncd is.
func (c *checker) path(p *string) {
	if *p == "" || filepath.IsAbs(*p) {
		return
	}
	abs, err := filepath.Abs(filepath.Join(c.dir, *p))
	if err != nil {
		abs = filepath.Join(c.dir, *p)
	}
	*p = abs
}

// secret reads a *_file secret into its Secret twin. The file must be
// private (not readable by every user) and not empty; one trailing line
// break is dropped (echo > file adds one).
func (c *checker) secret(key string, val *Secret, file *string) {
	fileKey := key + "_file"
	if *file == "" {
		return
	}
	if *val != "" {
		c.errorf(fileKey, "%s and %s are both set: keep one", key, fileKey)
		return
	}
	info, err := os.Stat(*file)
	if err != nil {
		// The name itself is not repeated: a secret pasted into the
		// *_file key by mistake would otherwise be printed back.
		c.errorf(fileKey, "%s: cannot read the file named here (in %s): %v",
			fileKey, filepath.Dir(*file), unwrapPath(err))
		return
	}
	if info.IsDir() {
		c.errorf(fileKey, "%s: %s is a directory, not a file", fileKey, *file)
		return
	}
	if info.Mode().Perm()&0o004 != 0 {
		c.errorf(fileKey, "%s: %s is readable by every user (mode %04o); make it private with: chmod 600 %s (on Kubernetes, give the secret volume defaultMode: 0400)",
			fileKey, *file, info.Mode().Perm(), *file)
		return
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		c.errorf(fileKey, "%s: cannot read %s: %v", fileKey, *file, unwrapPath(err))
		return
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if s == "" {
		c.errorf(fileKey, "%s: %s is empty", fileKey, *file)
		return
	}
	*val = Secret(s)
}

// unwrapPath drops the *PathError wrapping whose text repeats the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// completeNotify reads each webhook's URL file and gives a webhook that
// names no events the default ones.
func (c *checker) completeNotify(n *Notify) {
	for i := range n.Webhooks {
		w, p := &n.Webhooks[i], fmt.Sprintf("notify.webhooks[%d]", i)
		c.path(&w.URLFile)
		c.secret(p+".url", &w.URL, &w.URLFile)
		if !c.has(p + ".events") {
			w.Events = slices.Clone(DefaultEvents)
		}
	}
}
