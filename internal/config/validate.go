package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

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
	c.validateNotify(&cfg.Notify)
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
	shown := shownURL(u)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		c.errorf("teams.url", "teams.url %q: the scheme must be https:// (or http://, or emulator:SEED.json for the local emulator)", shown)
	case u.Host == "":
		c.errorf("teams.url", "teams.url %q has no host", shown)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		c.errorf("teams.url", "teams.url %q: remove the ?query or #fragment (a token goes in teams.token or teams.token_file)", shown)
	case !apiPath.MatchString(u.Path):
		c.errorf("teams.url", "teams.url %q is not an API v3 base URL: use https://api.stackoverflowteams.com/v3/teams/TEAM (Business, Basic), https://HOST/api/v3 (Enterprise) or https://HOST/api/v3/teams/TEAM (Enterprise private team)", shown)
	}
}

// shownURL is u as a message may quote it. The user information, query
// and fragment are left out, whatever they hold: a token pasted as
// ?access_token=... must not reach a terminal, a log or a CI transcript.
// "?…" and "#…" mark what was left out; an opaque URL (scheme:rest) shows
// its scheme only.
func shownURL(u *url.URL) string {
	if u.Opaque != "" {
		return u.Scheme + ":…"
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := v.String()
	if u.User != nil {
		s = strings.Replace(s, "//", "//…@", 1)
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	if u.Fragment != "" || u.RawFragment != "" {
		s += "#…"
	}
	return s
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

func (c *checker) validateSync(s *Sync) {
	c.oneOf("sync.membership", s.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
	if s.MaxRemovals < 0 {
		c.errorf("sync.max_removals", "sync.max_removals %d must be 0 or more (0 holds every removal)", s.MaxRemovals)
	}
	if s.MaxRemovalPercent < 0 || s.MaxRemovalPercent > 100 {
		c.errorf("sync.max_removal_percent", "sync.max_removal_percent %v must be between 0 and 100", s.MaxRemovalPercent)
	}
	if s.MaxRemovalPercentFloor < 0 {
		c.errorf("sync.max_removal_percent_floor", "sync.max_removal_percent_floor %d must be 0 or more (0 applies max_removal_percent to every removal)", s.MaxRemovalPercentFloor)
	}
	if s.AuditRetention < Duration(Day) {
		c.errorf("sync.audit_retention", "sync.audit_retention %s is too short: write a day or more (e.g. 400d); syncd history answers from what it keeps", s.AuditRetention)
	}
	if _, err := cron.ParseStandard(s.Schedule); err != nil {
		c.errorf("sync.schedule", "sync.schedule %q is not a schedule: %v (write 5 cron fields such as \"*/30 * * * *\", or @every 30m, @hourly, @daily)", s.Schedule, err)
	}
	if s.Jitter < 0 {
		c.errorf("sync.jitter", "sync.jitter must not be negative")
	}
	if s.PendingRecheck < 0 {
		c.errorf("sync.pending_recheck", "sync.pending_recheck must not be negative")
	}
	c.positive("sync.watch_delay", s.WatchDelay)
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
	c.publicURL(s.PublicURL)
}

var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

func validHostname(h string) bool { return len(h) <= 253 && hostname.MatchString(h) }
