package ldap

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

const (
	fakeBindDN = "cn=svc,dc=x"
	fakeBindPW = "fake-bind-secret"
)

func fakeConfig(url string) config.LDAP {
	return config.LDAP{
		URLs: config.StringList{url}, BindDN: fakeBindDN, BindPassword: fakeBindPW,
		PageSize: 2, Timeout: config.Duration(5 * time.Second),
		Users:  config.LDAPUsers{BaseDN: fakeUsers},
		Groups: config.LDAPGroups{BaseDN: fakeGroups, MemberAttributes: []string{"member"}},
	}
}

func fakeRead(t *testing.T, cfg config.LDAP) (*directory.Directory, error) {
	t.Helper()
	r, err := New("fake", cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.Read(ctx)
}

func TestWireLongFormLengthsAndIntermediateResponses(t *testing.T) {
	s := startFake(t, &fakeServer{long: true}, fakeDirectory(5, func(c *fakeConn, req fakeRequest, page int) bool {
		if page == 1 { // an IntermediateResponse with a name, before the page
			c.write(c.s.msg(req.id, c.s.tlv(appIntermediate, c.s.tlv(0x80, []byte("1.3.6.1.4.1.4203.1.9.1.4")))))
		}
		return false
	}))
	d, err := fakeRead(t, fakeConfig(s.url))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 5 || len(d.Group("all").Members) != 5 {
		t.Errorf("read %d users, group of %d; want 5 and 5", len(d.Users), len(d.Group("all").Members))
	}
	if u := d.Users["3"]; u == nil || !slices.Equal(u.Emails, []string{"user3@x.org"}) {
		t.Errorf("user 3 = %+v", u)
	}
}

// Every way a server can break off an answer fails the read: no directory,
// and an error that names the search, base, filter and server, never the
// password.
func TestWireBrokenAnswersFailTheRead(t *testing.T) {
	cases := []struct {
		name   string
		answer func(c *fakeConn, req fakeRequest)
		want   string
	}{
		{"notice of disconnection", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2")),
				c.s.msg(0, c.s.tlv(appExtendedResp, berInt(tagEnumerated, 52), tlv(tagOctetString), tlv(tagOctetString, []byte("shutting down")),
					tlv(0x8a, []byte("1.3.6.1.4.1.1466.20036")))))
		}, "server ended the connection"},
		{"closed mid-page", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2")))
			c.conn.Close()
		}, "connection closed by the server"},
		{"closed mid-message", func(c *fakeConn, req fakeRequest) {
			m := c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2"))
			c.write(m[:len(m)/2])
			c.conn.Close()
		}, "connection closed by the server"},
		{"stalled mid-page", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2")))
			// Say nothing more; the connection stays open.
		}, "i/o timeout"},
		{"oversize message", func(c *fakeConn, req fakeRequest) {
			c.write([]byte{tagSequence, 0x84, 0x7f, 0xff, 0xff, 0xff})
		}, "too large"},
		{"indefinite length", func(c *fakeConn, req fakeRequest) {
			c.write([]byte{tagSequence, 0x80, 0x02, 0x01, 0x02, 0x00, 0x00})
		}, "unsupported BER length"},
		{"answer to another message", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id+7, c.s.entry(fakeUserDN(2), "entryUUID", "2")))
		}, "while waiting for"},
		{"unexpected operation", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.result(0x67, 0, ""))) // a ModifyResponse
		}, "unexpected response to a search"},
		{"malformed entry", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.tlv(appSearchEntry, berInt(tagInteger, 1))))
		}, "malformed BER"},
		{"size limit", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.result(appSearchDone, 4, "")))
		}, `"Size Limit Exceeded" on page 2, after 2 entries: the server limits the whole result of a paged search`},
		{"time limit", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2")), c.s.msg(req.id, c.s.result(appSearchDone, 3, "")))
		}, "Time Limit Exceeded"},
		{"admin limit", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.result(appSearchDone, 11, "")))
		}, "Admin Limit Exceeded"},
		{"referral result", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.result(appSearchDone, 10, "")))
		}, "Referral"},
		{"paging dropped", func(c *fakeConn, req fakeRequest) {
			c.write(c.s.msg(req.id, c.s.entry(fakeUserDN(2), "entryUUID", "2")), c.s.msg(req.id, c.s.result(appSearchDone, 0, "")))
		}, "without the paged results control"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startFake(t, &fakeServer{}, fakeDirectory(6, func(c *fakeConn, req fakeRequest, page int) bool {
				if page != 1 {
					return false
				}
				tc.answer(c, req)
				return true
			}))
			cfg := fakeConfig(s.url)
			cfg.Timeout = config.Duration(time.Second)
			d, err := fakeRead(t, cfg)
			if err == nil || d != nil {
				t.Fatalf("Read = %v, %v; want no directory and an error", d, err)
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "search users", s.url, `base "ou=people,dc=x"`, "(objectClass=inetOrgPerson)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, fakeBindPW) {
				t.Errorf("error %q holds the password", msg)
			}
		})
	}
}

// A group search broken off after the users were read also fails the read:
// a group never listed cannot even be named unknown.
func TestWireGroupListingBrokenOff(t *testing.T) {
	s := startFake(t, &fakeServer{}, func(c *fakeConn, req fakeRequest) {
		if req.op == appSearchRequest && req.base == fakeGroups {
			c.write(c.s.msg(req.id, c.s.entry("cn=all,"+fakeGroups, "cn", "all", "member", fakeUserDN(0))))
			c.conn.Close()
			return
		}
		fakeDirectory(3, nil)(c, req)
	})
	if d, err := fakeRead(t, fakeConfig(s.url)); err == nil || !strings.Contains(err.Error(), "search groups") {
		t.Errorf("Read = %v, %v; want the groups search failed", d, err)
	}
}

// StartTLS comes before the bind (the password never crosses in clear),
// the certificate is checked against the URL's host name, and ldaps://
// works on a port of its own.
func TestWireTLSOrderAndServerName(t *testing.T) {
	srvTLS, caFile := fakeTLS(t, "localhost")
	s := startFake(t, &fakeServer{tls: srvTLS}, fakeDirectory(3, nil))
	u, _ := url.Parse(s.url)
	cfg := fakeConfig("ldap://localhost:" + u.Port())
	cfg.StartTLS, cfg.CAFile = true, caFile
	if _, err := fakeRead(t, cfg); err != nil {
		t.Fatalf("StartTLS to localhost: %v", err)
	}
	// On every connection (the groups may be listed on a second one).
	for i, ops := range s.seenOn() {
		if ops = slices.Compact(ops); len(ops) > 1 && !slices.Equal(ops[:2], []string{"starttls", "bind"}) {
			t.Errorf("connection %d: operations %v, want starttls then bind first", i, ops)
		}
	}
	for _, want := range []string{"search " + fakeUsers, "search " + fakeGroups} {
		if !slices.Contains(s.seen(), want) {
			t.Errorf("operations %v lack %q", s.seen(), want)
		}
	}

	// The same server by IP: the certificate names only localhost.
	cfg.URLs = config.StringList{s.url}
	before := len(s.seen())
	if _, err := fakeRead(t, cfg); err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("certificate for localhost accepted for 127.0.0.1: %v", err)
	}
	if n := slices.Index(s.seen()[before:], "bind"); n >= 0 {
		t.Errorf("bound after a failed StartTLS: %v", s.seen())
	}
	cfg.InsecureSkipVerify = true
	if _, err := fakeRead(t, cfg); err != nil {
		t.Errorf("insecure_skip_verify named: %v", err)
	}

	ldaps := startFake(t, &fakeServer{tls: srvTLS, ldaps: true}, fakeDirectory(3, nil))
	lu, _ := url.Parse(ldaps.url)
	cfg = fakeConfig("ldaps://localhost:" + lu.Port())
	cfg.CAFile = caFile
	if d, err := fakeRead(t, cfg); err != nil || len(d.Users) != 3 {
		t.Errorf("ldaps on port %s: %v", lu.Port(), err)
	}
}

func TestHostPort(t *testing.T) {
	for raw, want := range map[string]string{
		"ldap://ldap.example.com":       "ldap.example.com:389",
		"ldaps://ldap.example.com":      "ldap.example.com:636",
		"LDAPS://ldap.example.com:3269": "ldap.example.com:3269",
		"ldap://[::1]":                  "[::1]:389",
		"ldaps://[fe80::1]:1636":        "[fe80::1]:1636",
		"ldap://10.0.0.5:10389":         "10.0.0.5:10389",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostPort(u); got != want {
			t.Errorf("hostPort(%s) = %s, want %s", raw, got, want)
		}
	}
}
