package notify

import (
	"net/url"
	"slices"
	"strings"
)

// A webhook's URL is its secret: Slack keeps the key in the last part of
// the path (/services/T…/B…/KEY), a Teams workflow in the query
// (…/invoke?api-version=1&sp=…&sig=KEY). Nothing syncd logs, counts or
// returns names more of a webhook than its place in the configuration and
// its host; a redactor cleans the text that may quote the URL anyway:
// net/http's errors (which hold the whole URL) and a receiver's answer.

// minSecretPart is the shortest path segment or query value taken for a
// secret: keys are longer (Slack's 24 characters, a signature 43), the
// fixed words around them ("services", "triggers", "2016-06-01") shorter.
const minSecretPart = 12

// redacted replaces what a redactor removes.
const redacted = "[redacted]"

// redactor removes a webhook URL's secret parts from text.
type redactor struct{ parts []string }

func newRedactor(raw string) redactor {
	parts := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		parts = append(parts, u.String(), u.RawQuery, u.EscapedPath(), u.Path, u.RawPath)
		if u.User != nil {
			parts = append(parts, u.User.String())
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			parts = append(parts, seg)
			if s, err := url.PathUnescape(seg); err == nil {
				parts = append(parts, s)
			}
		}
		for _, pair := range strings.Split(u.RawQuery, "&") {
			_, v, _ := strings.Cut(pair, "=")
			parts = append(parts, v)
			if s, err := url.QueryUnescape(v); err == nil {
				parts = append(parts, s)
			}
		}
	}
	keep := parts[:0]
	for _, p := range parts {
		if len(p) >= minSecretPart || p == raw {
			keep = append(keep, p)
		}
	}
	// Longest first, so that a part inside another does not leave the
	// rest of the longer one behind.
	slices.SortFunc(keep, func(a, b string) int { return len(b) - len(a) })
	return redactor{parts: slices.Compact(keep)}
}

// String returns s without any secret part of the URL.
func (r redactor) String(s string) string {
	for _, p := range r.parts {
		if p != "" {
			s = strings.ReplaceAll(s, p, redacted)
		}
	}
	return s
}

// hostOf is the URL's host, the part of it that messages may name.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(no host)"
	}
	return u.Host
}
