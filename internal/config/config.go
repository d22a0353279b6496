// Package config loads and validates syncd's YAML configuration
// (DESIGN.md §5). Everything else in syncd consumes the Config it returns.
package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/lock"
)

// Config is the whole configuration file. Load fills it: relative paths are
// made absolute against the file's directory, secrets from *_file keys are
// read into their Secret twins, and defaults are applied.
type Config struct {
	Path    string    `yaml:"-"` // file it was loaded from
	Teams   Teams     `yaml:"teams"`
	Sources []Source  `yaml:"sources"`
	Groups  []Mapping `yaml:"groups"`
	SMEs    []SME     `yaml:"smes"`
	Sync    Sync      `yaml:"sync"`
	Server  Server    `yaml:"server"`
	Notify  Notify    `yaml:"notify"`
	Log     Log       `yaml:"log"`

	pos positions // where each key and value was written, for messages
}

// Teams is the API v3 endpoint and credentials.
type Teams struct {
	URL                string   `yaml:"url"` // or "emulator:SEED.json" for the in-process emulator (see EmulatorSeed)
	Token              Secret   `yaml:"token"`
	TokenFile          string   `yaml:"token_file"`
	CAFile             string   `yaml:"ca_file"`
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify"`
	UserAgent          string   `yaml:"user_agent"`
	Timeout            Duration `yaml:"timeout"` // per request; default 30s
}

// Source is one directory; exactly one of LDAP, SCIM, SCIMReceiver, LDIF is set.
type Source struct {
	Name         string        `yaml:"name"`
	LDAP         *LDAP         `yaml:"ldap"`
	SCIM         *SCIM         `yaml:"scim"`
	SCIMReceiver *SCIMReceiver `yaml:"scim_receiver"`
	LDIF         *LDIF         `yaml:"ldif"`
}

// LDAP is a directory server read over LDAP.
type LDAP struct {
	URLs               StringList  `yaml:"url"` // one URL or a list, tried in order
	StartTLS           bool        `yaml:"start_tls"`
	CAFile             string      `yaml:"ca_file"`
	InsecureSkipVerify bool        `yaml:"insecure_skip_verify"`
	BindDN             string      `yaml:"bind_dn"`
	BindPassword       Secret      `yaml:"bind_password"`
	BindPasswordFile   string      `yaml:"bind_password_file"`
	PageSize           int         `yaml:"page_size"` // default 500
	Timeout            Duration    `yaml:"timeout"`   // default 30s
	Users              LDAPUsers   `yaml:"users"`
	Groups             LDAPGroups  `yaml:"groups"`
	ActiveDirectory    *ADSettings `yaml:"active_directory"`
	Watch              LDAPWatch   `yaml:"watch"` // the change feed of sync.watch
}

// LDAPWatch says how `syncd run` follows the source's changes when
// sync.watch is on.
type LDAPWatch struct {
	// Feed is the change feed: auto (default: what the server supports),
	// syncrepl, persistent_search, dirsync, usn_changed, modify_timestamp,
	// or none (the source's changes wait for the scheduled run).
	Feed string `yaml:"feed"`
	// PollInterval is how often the polling feeds (dirsync, usn_changed,
	// modify_timestamp) ask; default 5s.
	PollInterval Duration `yaml:"poll_interval"`
}

// Change feeds (sources[].ldap.watch.feed).
const (
	FeedAuto             = "auto"
	FeedSyncrepl         = "syncrepl"
	FeedPersistentSearch = "persistent_search"
	FeedDirSync          = "dirsync"
	FeedUSNChanged       = "usn_changed"
	FeedModifyTimestamp  = "modify_timestamp"
	FeedNone             = "none"
)

// LDAPUsers says where people are and which attributes describe them.
type LDAPUsers struct {
	BaseDN         string `yaml:"base_dn"`
	Scope          string `yaml:"scope"`           // sub (default) | one
	Filter         string `yaml:"filter"`          // default (objectClass=inetOrgPerson)
	IDAttribute    string `yaml:"id_attribute"`    // default entryUUID
	EmailAttribute string `yaml:"email_attribute"` // default mail
	NameAttribute  string `yaml:"name_attribute"`  // default cn
	LoginAttribute string `yaml:"login_attribute"` // default uid
	ProxyAddresses bool   `yaml:"proxy_addresses"` // also take smtp: aliases of proxyAddresses
	// SkipDisabled leaves out disabled or locked accounts: Active
	// Directory's userAccountControl disabled bit, 389-ds/FreeIPA's
	// nsAccountLock: TRUE, OpenLDAP's administrative lock
	// (pwdAccountLockedTime: 000001010000Z).
	SkipDisabled bool `yaml:"skip_disabled"`
}

// LDAPGroups says where groups are and how they list members.
type LDAPGroups struct {
	BaseDN           string   `yaml:"base_dn"`
	Scope            string   `yaml:"scope"`
	Filter           string   `yaml:"filter"`
	NameAttribute    string   `yaml:"name_attribute"`    // default cn
	MemberAttributes []string `yaml:"member_attributes"` // default [member, uniqueMember, memberUid]
	Nested           bool     `yaml:"nested"`            // default true
}

// ADSettings are Active Directory specifics.
type ADSettings struct {
	SkipDisabled  bool `yaml:"skip_disabled"`   // same as users.skip_disabled (the older spelling)
	InChainLookup bool `yaml:"in_chain_lookup"` // resolve nesting with 1.2.840.113556.1.4.1941
}

// SCIM is a SCIM 2.0 service provider syncd reads from.
type SCIM struct {
	URL       string `yaml:"url"`
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	CAFile    string `yaml:"ca_file"`
	// InsecureSkipVerify turns TLS certificate verification off (named, never implied).
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify"`
	Timeout            Duration `yaml:"timeout"` // per request; default 30s
	Nested             bool     `yaml:"nested"`  // default true
}

// SCIMReceiver makes syncd a SCIM 2.0 endpoint at /scim/<name>/v2.
type SCIMReceiver struct {
	Token     Secret   `yaml:"token"`
	TokenFile string   `yaml:"token_file"`
	SyncDelay Duration `yaml:"sync_delay"` // default 30s
}

// LDIF is an offline directory export read from a file.
type LDIF struct {
	Path   string     `yaml:"path"`
	Users  LDAPUsers  `yaml:"users"`
	Groups LDAPGroups `yaml:"groups"`
}

// Mapping maps directory groups to one Teams user group each.
type Mapping struct {
	Source      string `yaml:"source"`
	From        string `yaml:"from"`  // group name or DN
	Match       string `yaml:"match"` // glob over group names; exclusive with From
	To          string `yaml:"to"`    // Teams group name; "{name}" expands with Match
	Description string `yaml:"description"`
	Membership  string `yaml:"membership"` // overrides sync.membership
	AllowEmpty  bool   `yaml:"allow_empty"`
	line        int    // where the mapping starts in the file (0 when built in code)
}

// SME maps a tag to its subject-matter experts.
type SME struct {
	Tag        string     `yaml:"tag"`
	UsersFrom  []GroupRef `yaml:"users_from"`
	Groups     []string   `yaml:"groups"` // Teams user group names
	Membership string     `yaml:"membership"`
	AllowEmpty bool       `yaml:"allow_empty"`
}

// GroupRef names a directory group in a source.
type GroupRef struct {
	Source string `yaml:"source"`
	Group  string `yaml:"group"`
}

// Sync holds the engine's policy.
type Sync struct {
	Apply             bool     `yaml:"apply"`
	Membership        string   `yaml:"membership"`          // exact (default) | add-only | managed
	MaxRemovals       int      `yaml:"max_removals"`        // default 100
	MaxRemovalPercent float64  `yaml:"max_removal_percent"` // default 25
	Schedule          string   `yaml:"schedule"`            // default "@every 30m"
	Jitter            Duration `yaml:"jitter"`
	RunAtStart        *bool    `yaml:"run_at_start"` // default true
	StateDir          string   `yaml:"state_dir"`    // empty: no persistent state
	// PendingRecheck is how long an address found without a Teams account
	// is not looked up again; default 1h, 0 looks it up on every run.
	PendingRecheck Duration `yaml:"pending_recheck"`
	// MaxRemovalPercentFloor is how many removals from one group or SME
	// list max_removal_percent never holds: on a list of a few people one
	// or two leaving is routine, though a large share. Default 3.
	MaxRemovalPercentFloor int `yaml:"max_removal_percent_floor"`
	// AuditRetention is how long the audit log keeps a write (and syncd
	// history finds it); default 400 days.
	AuditRetention Duration `yaml:"audit_retention"`
	// Watch makes `syncd run` follow the directories' change feeds and
	// apply a change between scheduled runs (DESIGN.md §9); default false.
	Watch bool `yaml:"watch"`
	// WatchDelay gathers the changes of a burst into one change set,
	// applied this long after the last (and at most ten times this long
	// after the first); default 2s.
	WatchDelay Duration `yaml:"watch_delay"`
}

// Server is the daemon's HTTP listener.
type Server struct {
	Listen        string `yaml:"listen"` // default 127.0.0.1:9184
	SyncToken     Secret `yaml:"sync_token"`
	SyncTokenFile string `yaml:"sync_token_file"`
	// Pprof serves Go's profiler at /debug/pprof/ under the same access
	// rules as /reports/latest (loopback, or the sync token). Off by default.
	Pprof bool `yaml:"pprof"`
	// PublicURL is the daemon's base URL as people reach it (a reverse
	// proxy's, say); notifications link to PublicURL/reports/latest.
	// Empty: messages carry no link.
	PublicURL string `yaml:"public_url"`
}

// Log configures zap.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | console
}

// Secret is a string that never prints itself.
type Secret string

// String hides the value from fmt, logs and reports.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return `"REDACTED"` }

// MarshalJSON hides the value from encoding/json and so from zap's
// reflection (zap.Any) and JSON reports.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML hides the value from a YAML dump of the configuration.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Reveal returns the secret for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// StringList accepts a single string or a list of strings.
type StringList []string

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String prints the duration the way it is written in YAML.
func (d Duration) String() string { return time.Duration(d).String() }

// Membership modes (sync.membership and per-mapping overrides).
const (
	MembershipExact   = "exact"    // Teams members = directory members
	MembershipAddOnly = "add-only" // never remove
	MembershipManaged = "managed"  // remove only members syncd added (ledger in state_dir)
)

// EmulatorScheme prefixes teams.url when the in-process emulator stands in for
// the API (quick start, local trials): "emulator:path/to/seed.json".
const EmulatorScheme = "emulator:"

// EmulatorSeed returns the seed file of an "emulator:" URL (absolute after
// Load) and true, or "" and false for a real API URL.
func (t Teams) EmulatorSeed() (string, bool) {
	if len(t.URL) < len(EmulatorScheme) || t.URL[:len(EmulatorScheme)] != EmulatorScheme {
		return "", false
	}
	return t.URL[len(EmulatorScheme):], true
}

// ShownURL is teams.url as messages, the lock holder's record and probes
// show it: without userinfo, query or fragment, and with the token taken
// out should it appear in the path (put there as the team's name, by
// mistake).
func (t Teams) ShownURL() string {
	u := t.URL
	if tok := t.Token.Reveal(); len(tok) >= minShownSecret {
		u = strings.ReplaceAll(u, tok, "REDACTED")
	}
	return lock.Display(u)
}

// minShownSecret is the shortest token ShownURL looks for: a short one
// would take out ordinary parts of the URL, and no real token is that short.
const minShownSecret = 8

// Source returns the source with this name, or nil.
func (c *Config) Source(name string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}

// Source kinds, as returned by Source.Kind.
const (
	KindLDAP         = "ldap"
	KindSCIM         = "scim"
	KindSCIMReceiver = "scim_receiver"
	KindLDIF         = "ldif"
)

// Kind names the one reader configured for the source ("" when none is,
// which Load never lets through).
func (s Source) Kind() string {
	switch {
	case s.LDAP != nil:
		return KindLDAP
	case s.SCIM != nil:
		return KindSCIM
	case s.SCIMReceiver != nil:
		return KindSCIMReceiver
	case s.LDIF != nil:
		return KindLDIF
	}
	return ""
}

// MembershipMode is the mapping's own mode, or global when it has none.
func (m Mapping) MembershipMode(global string) string {
	if m.Membership != "" {
		return m.Membership
	}
	return global
}

// MembershipMode is the SME rule's own mode, or global when it has none.
func (s SME) MembershipMode(global string) string {
	if s.Membership != "" {
		return s.Membership
	}
	return global
}

// Line is where the mapping starts in the config file (0 when not loaded
// from a file), for messages that point the user at it.
func (m Mapping) Line() int { return m.line }

// Where returns "file:line:col" of a key's value, addressed by its path in
// the file ("teams.url", "groups[2].to", "sources[0].ldap.url[1]"); for a
// key that was not written, the position of the nearest enclosing key.
func (c *Config) Where(path string) string {
	p := c.pos.at(path)
	return fmt.Sprintf("%s:%d:%d", c.Path, p.Line, p.Column)
}

// Notify says who is told about runs (DESIGN.md §9).
type Notify struct {
	Webhooks []Webhook `yaml:"webhooks"`
}

// Webhook is one incoming webhook (Slack, Microsoft Teams, or any
// receiver of JSON). Its URL is a secret: whoever has it can post to the
// channel, and Slack and Teams carry their key in its path or query. So it
// comes only from URLFile or from the environment (url: ${VAR}), never
// written in the configuration itself.
type Webhook struct {
	URL     Secret   `yaml:"url"`
	URLFile string   `yaml:"url_file"`
	Format  string   `yaml:"format"` // slack | msteams | json
	Events  []string `yaml:"events"` // default [held, failed, recovered]
}

// Webhook formats.
const (
	FormatSlack   = "slack"
	FormatMSTeams = "msteams"
	FormatJSON    = "json"
)

// Notification events: what a run may tell a webhook.
const (
	EventHeld      = "held"      // removals were held back
	EventFailed    = "failed"    // the run failed (exit 1)
	EventRecovered = "recovered" // the run did not fail, the one before it did
	EventApplied   = "applied"   // changes were applied
	EventDrift     = "drift"     // a dry run found changes to make
)

// Events lists every event, in the order messages about one run are sent.
var Events = []string{EventFailed, EventHeld, EventRecovered, EventApplied, EventDrift}

// DefaultEvents are a webhook's events when it names none: what needs a
// person's attention, and the all-clear after a failure.
var DefaultEvents = []string{EventHeld, EventFailed, EventRecovered}

// Wants reports whether the webhook asked for event.
func (w Webhook) Wants(event string) bool {
	for _, e := range w.Events {
		if e == event {
			return true
		}
	}
	return false
}
