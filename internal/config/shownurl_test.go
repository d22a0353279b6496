package config

import (
	"net/url"
	"testing"
)

func TestShownURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://host/api/v3":                 "https://host/api/v3",
		"https://u:p4ss@host/api/v3?t=1#f":    "https://…@host/api/v3?…#…",
		"https://host/api/v3?":                "https://host/api/v3?…",
		"ldap://host:389/dc=x?cn?sub?(uid=a)": "ldap://host:389/dc=x?…",
		"mailto:secret@example.com":           "mailto:…",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := shownURL(u); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
