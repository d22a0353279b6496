package config

import (
	"fmt"
	"net/url"
	"strings"
)

// The messages below never quote a webhook URL, not even in part: Slack
// keeps its key in the path, Teams workflows in the query.

func (c *checker) validateNotify(n *Notify) {
	for i := range n.Webhooks {
		c.validateWebhook(fmt.Sprintf("notify.webhooks[%d]", i), &n.Webhooks[i])
	}
}

func (c *checker) validateWebhook(p string, w *Webhook) {
	if key, ok := c.webhookSource(p, w); ok {
		c.webhookURL(key, w)
	}
	switch {
	case w.Format == "":
		c.errorf(p+".format", "%s.format is required: slack, msteams or json", p)
	default:
		c.oneOf(p+".format", w.Format, FormatSlack, FormatMSTeams, FormatJSON)
	}
	if len(w.Events) == 0 {
		c.errorf(p+".events", "%s.events is empty: list some of %s (or leave events out for %s)",
			p, strings.Join(Events, ", "), strings.Join(DefaultEvents, ", "))
	}
	for i, e := range w.Events {
		c.oneOf(fmt.Sprintf("%s.events[%d]", p, i), e, Events...)
	}
}

// webhookSource checks where the URL came from and returns the key to
// report a bad URL at, or false when there is no URL to check (its
// absence is reported here, an unreadable file by complete).
func (c *checker) webhookSource(p string, w *Webhook) (string, bool) {
	urlKey := p + ".url"
	switch {
	case w.URLFile != "" && c.has(urlKey):
		return "", false // both set: complete said so
	case w.URLFile != "":
		return urlKey + "_file", w.URL != ""
	case !c.has(urlKey):
		c.errorf(p, "%s: url_file (a file holding the webhook URL) or url: ${VAR} (an environment variable holding it) is required", p)
	case w.URL == "":
		c.errorf(urlKey, "%s is empty: give the webhook URL in url_file, or in the environment variable that url names", urlKey)
	case !c.cfg.pos.env[urlKey]:
		c.errorf(urlKey, "%s: a webhook URL is a secret (whoever has it can post to the channel), so it is not written in the configuration: put it in a private file named by url_file, or in an environment variable (url: ${SLACK_WEBHOOK})", urlKey)
	default:
		return urlKey, true
	}
	return "", false
}

// webhookURL checks that the URL is one syncd can post to.
func (c *checker) webhookURL(key string, w *Webhook) {
	where := key
	if strings.HasSuffix(key, "_file") {
		where = fmt.Sprintf("%s: the URL in %s", key, w.URLFile)
	}
	u, err := url.Parse(w.URL.Reveal())
	switch {
	case err != nil || u.User != nil:
		c.errorf(key, "%s is not a valid URL (without user:password@); copy the webhook URL again", where)
	case u.Scheme != "https" && u.Scheme != "http":
		c.errorf(key, "%s: the URL must start with https:// (or http://)", where)
	case u.Host == "":
		c.errorf(key, "%s: the URL has no host", where)
	}
}

// publicURL checks server.public_url: the daemon's base URL as people
// reach it, which messages link to.
func (c *checker) publicURL(raw string) {
	if raw == "" {
		return
	}
	const key = "server.public_url"
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		c.errorf(key, "%s is not a valid URL without credentials: write https://HOST[:PORT][/PATH], the address people open syncd at", key)
		return
	}
	shown := shownURL(u)
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		c.errorf(key, "%s %q: the scheme must be https:// (or http://)", key, shown)
	case u.Host == "":
		c.errorf(key, "%s %q has no host", key, shown)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		c.errorf(key, "%s %q: remove the ?query or #fragment; links add /reports/latest to the path", key, shown)
	}
}

// notifyWarnings names webhooks posted to over plain http:// to another
// host: the URL, which is the webhook's secret, would cross the network
// unencrypted.
func notifyWarnings(cfg *Config) []string {
	var out []string
	for i, w := range cfg.Notify.Webhooks {
		key := fmt.Sprintf("notify.webhooks[%d].url", i)
		if w.URLFile != "" {
			key += "_file"
		}
		if host, ok := remoteHTTP(w.URL.Reveal()); ok {
			out = append(out, fmt.Sprintf("%s: %s is http:// to %s, not this host: the webhook URL, which is its secret, and every message cross the network unencrypted; use https://",
				cfg.Where(key), key, host))
		}
	}
	return out
}
