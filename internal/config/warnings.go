package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Warnings lists what a valid configuration turns off that protects the
// secrets or the data in transit (TLS verification switched off by name,
// http:// to a host other than this one), and an LDIF file not there. Each is "FILE:LINE:COL: text".
// `syncd validate` prints them; a run logs them when it starts.
func Warnings(cfg *Config) []string {
	var out []string
	warn := func(key, format string, args ...any) {
		out = append(out, cfg.Where(key)+": "+fmt.Sprintf(format, args...))
	}
	t := cfg.Teams
	if _, emulated := t.EmulatorSeed(); !emulated {
		if t.InsecureSkipVerify {
			warn("teams.insecure_skip_verify", "teams.insecure_skip_verify is on: the API's TLS certificate is not checked, so anyone on the network path can pose as the API, take the token and see or change what syncd writes; give the site's CA in teams.ca_file instead")
		}
		if host, ok := remoteHTTP(t.URL); ok {
			warn("teams.url", "teams.url is http:// to %s, not this host: the token and every answer cross the network unencrypted; use https://", host)
		}
	}
	for i, s := range cfg.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.LDAP != nil && s.LDAP.InsecureSkipVerify:
			warn(p+".ldap.insecure_skip_verify", "%s.ldap.insecure_skip_verify is on (source %s): the directory's TLS certificate is not checked, so anyone on the network path can pose as it, take the bind password and hand syncd false groups; give its CA in ca_file instead", p, s.Name)
		case s.SCIM != nil && s.SCIM.InsecureSkipVerify:
			warn(p+".scim.insecure_skip_verify", "%s.scim.insecure_skip_verify is on (source %s): the provider's TLS certificate is not checked, so anyone on the network path can pose as it, take the token and hand syncd false groups; give its CA in ca_file instead", p, s.Name)
		}
		if s.LDIF != nil && s.LDIF.Path != "" {
			if _, err := os.Stat(s.LDIF.Path); err != nil {
				warn(p+".ldif.path", "%s.ldif.path: cannot read %s (source %s): %v; every run fails (exit 1, nothing removed) until it can", p, s.LDIF.Path, s.Name, unwrapPath(err))
			}
		}
		if s.SCIM != nil {
			if host, ok := remoteHTTP(s.SCIM.URL); ok {
				warn(p+".scim.url", "%s.scim.url is http:// to %s, not this host (source %s): the token and the directory cross the network unencrypted; use https://", p, host, s.Name)
			}
		}
	}
	if w := readableSecret(cfg); w != "" {
		out = append(out, w)
	}
	if n := len(cfg.Server.SyncToken.Reveal()); n > 0 && n < minSyncToken {
		key := "server.sync_token"
		if cfg.Server.SyncTokenFile != "" {
			key = "server.sync_token_file"
		}
		warn(key, "the sync token is %d characters long: wrong tokens are rationed to one every 6 seconds, which finds a short one in hours; use at least %d random characters (openssl rand -hex 32)", n, minSyncToken)
	}
	return append(out, notifyWarnings(cfg)...)
}

// minSyncToken is the shortest sync token not warned about: 16 random
// characters take far longer to guess at one try every 6 seconds than any
// token lives.
const minSyncToken = 16

// readableSecret warns of a secret written in a configuration file that
// any account on the machine may read. A warning, not an error: the file
// may sit in a directory only syncd can enter, and the emulator's token
// (the quick start's) guards nothing.
func readableSecret(cfg *Config) string {
	var keys []string
	for _, k := range cfg.pos.inline {
		if _, emulated := cfg.Teams.EmulatorSeed(); emulated && k == "teams.token" {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return ""
	}
	info, err := os.Stat(cfg.Path)
	if err != nil || info.Mode().Perm()&0o004 == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %s written in %s, which every account on this machine may read (mode %04o): move it to its _file key (a file of mode 0600) or to ${VAR}, or chmod o-r %s",
		cfg.Where(keys[0]), strings.Join(keys, ", "), cfg.Path, info.Mode().Perm(), cfg.Path)
}

// remoteHTTP reports the host of a plain http:// URL that leaves this
// machine (anything but localhost and loopback addresses).
func remoteHTTP(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || u.Hostname() == "" {
		return "", false
	}
	host := u.Hostname()
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return "", false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return "", false
	}
	return host, true
}
