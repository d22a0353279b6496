package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

func newReader(tb testing.TB, url, token string, nested bool) *Reader {
	tb.Helper()
	r, err := New("idp", config.SCIM{URL: url, Token: config.Secret(token), Nested: nested, Timeout: config.Duration(5 * time.Second)}, zaptest.NewLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	r.sleep = func(context.Context, time.Duration) error { return nil }
	return r
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.SCIM
		want string
	}{
		{config.SCIM{Token: "t"}, "url is required"},
		{config.SCIM{URL: "ldap://x", Token: "t"}, "scheme must be https or http"},
		{config.SCIM{URL: "https://x/scim/v2"}, "no bearer token"},
		{config.SCIM{URL: "https://x/scim/v2?api_key=k", Token: "t"}, "remove the ?query or #fragment"},
		{config.SCIM{URL: "https://x/scim/v2#k", Token: "t"}, "remove the ?query or #fragment"},
		{config.SCIM{URL: "https://x/scim/v2", Token: "t", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
	} {
		_, err := New("idp", tc.cfg, zap.NewNop())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want error containing %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := New("idp", config.SCIM{URL: "https://x", Token: "t"}, nil); err == nil {
		t.Error("New with nil logger: no error")
	}
}

// TestReadPeer reads a few hundred users and groups from the real scimmy
// server, which caps pages at 37 items although the reader asks for 200.
func TestReadPeer(t *testing.T) {
	s := genSeed(300, 60)
	p := startPeer(t, s, "SCIM_MAX_PAGE=37")
	for _, nested := range []bool{true, false} {
		t.Run(fmt.Sprintf("nested=%v", nested), func(t *testing.T) {
			r := newReader(t, p.URL, peerToken, nested)
			dir, err := r.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// ceil(300/37) + ceil(60/37) list pages, one GET for the missing user.
			if got, want := r.Calls(), 9+2+1; got != want {
				t.Errorf("calls = %d, want %d", got, want)
			}
			checkDirectory(t, dir, s, nested)
		})
	}
}

func checkDirectory(t *testing.T, dir *directory.Directory, s *seed, nested bool) {
	t.Helper()
	active := 0
	for _, u := range s.Users {
		if u.Active {
			active++
		}
	}
	if len(dir.Users) != active {
		t.Errorf("users = %d, want %d active", len(dir.Users), active)
	}
	u0 := dir.Users["u00000"]
	if u0 == nil || !slices.Equal(u0.Emails, []string{"user0@corp.example", "u0.alias@corp.example"}) || u0.Name != "User 0" || u0.Login != "user0@corp.example" {
		t.Errorf("u00000 = %+v, want primary e-mail first, both normalised", u0)
	}
	if u2 := dir.Users["u00002"]; u2 == nil || !slices.Equal(u2.Emails, []string{"user2@corp.example"}) {
		t.Errorf("u00002 (no emails) = %+v, want userName as e-mail", u2)
	}
	if dir.Users["u00003"] != nil {
		t.Error("inactive user u00003 is in the directory")
	}
	want := wantMembers(s, nested)
	if len(dir.Groups) != len(s.Groups) {
		t.Fatalf("groups = %d, want %d", len(dir.Groups), len(s.Groups))
	}
	for _, g := range dir.Groups {
		if g.Err != nil {
			t.Errorf("group %s unknown: %v", g.Name, g.Err)
		}
		w := want[g.Name]
		slices.Sort(w)
		if !slices.Equal(g.Members, w) {
			t.Errorf("group %s members = %v, want %v", g.Name, g.Members, w)
		}
		if !nested && len(g.Subgroups) != 0 {
			t.Errorf("group %s: subgroups %v with nested off", g.Name, g.Subgroups)
		}
	}
	// group-0 lists u00010 and u00045 (inactive) and deleted-user (404).
	if g := dir.Group("group-0"); g == nil || g.DN != "g0000" || g.Inactive != 2 || g.Ignored != 1 {
		t.Errorf("group-0 = %+v, want DN g0000, 2 inactive members and 1 not found, counted apart", g)
	}
}

func TestWrongToken(t *testing.T) {
	p := startPeer(t, genSeed(5, 1))
	const bad = "wrong-secret-token"
	r := newReader(t, p.URL, bad, true)
	_, err := r.Read(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Read with a wrong token = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("error %q: want HTTP 401 named and no token", err)
	}
	if r.Calls() > 2 {
		t.Errorf("%d calls: a 401 must not be retried", r.Calls())
	}
}

func TestUnreachable(t *testing.T) {
	p := startPeer(t, genSeed(1, 1))
	p.Kill()
	_, err := newReader(t, p.URL, peerToken, true).Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Read of a stopped server = %v, want connection refused", err)
	}
}

func TestWrongPath(t *testing.T) {
	p := startPeer(t, genSeed(1, 1))
	_, err := newReader(t, strings.TrimSuffix(p.URL, "/v2")+"/v3", peerToken, true).Read(context.Background())
	if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Read of a wrong path = %v, want not found", err)
	}
}

// TestLyingTotal: a server announcing more results than it has must fail
// the read rather than yield short groups.
func TestLyingTotal(t *testing.T) {
	p := startPeer(t, genSeed(100, 10), "SCIM_MAX_PAGE=30", "SCIM_LIE_TOTAL=3")
	_, err := newReader(t, p.URL, peerToken, true).Read(context.Background())
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("Read = %v, want ErrInconsistent", err)
	}
	if !strings.Contains(err.Error(), "totalResults") {
		t.Errorf("error %q does not say what contradicted totalResults", err)
	}
}

// killingTransport kills the peer before forwarding the n-th group page:
// the server dies in the middle of the read.
type killingTransport struct {
	next   http.RoundTripper
	p      *peer
	n      int32
	groups atomic.Int32
}

func (k *killingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/Groups") && k.groups.Add(1) == k.n {
		k.p.Kill()
	}
	return k.next.RoundTrip(req)
}

func TestServerKilledMidRead(t *testing.T) {
	p := startPeer(t, genSeed(200, 100), "SCIM_MAX_PAGE=20")
	r := newReader(t, p.URL, peerToken, true)
	r.client.Transport = &killingTransport{next: r.client.Transport, p: p, n: 3}
	dir, err := r.Read(context.Background())
	if err == nil {
		t.Fatalf("Read succeeded with %d groups after the server died", len(dir.Groups))
	}
	// Refused once it is gone; EOF or reset when it dies with a request in flight.
	if msg := err.Error(); !strings.Contains(msg, "connection refused") && !strings.Contains(msg, "EOF") && !strings.Contains(msg, "connection reset by peer") {
		t.Errorf("error %q does not name the transport failure", err)
	}
}

// failingTransport answers 500 for one path, the server being otherwise fine.
type failingTransport struct {
	next http.RoundTripper
	path string
}

func (f *failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, f.path) {
		return &http.Response{StatusCode: 503, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
	}
	return f.next.RoundTrip(req)
}

// TestUnresolvableMember: the lookup of a member missing from the listing
// fails, so the group listing it, and the groups nesting that one, are
// unknown; the others are complete.
func TestUnresolvableMember(t *testing.T) {
	s := genSeed(50, 20)
	s.Groups[12].Members = append(s.Groups[12].Members, seedMember{Value: "late-user", Type: "User"})
	p := startPeer(t, s)
	r := newReader(t, p.URL, peerToken, true)
	r.client.Transport = &failingTransport{next: r.client.Transport, path: "/Users/late-user"}
	dir, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unknown := map[string]bool{}
	for _, g := range dir.Groups {
		if g.Unknown() {
			unknown[g.DN] = true
		}
	}
	// g0010 -> g0011 -> g0012 (chains of ten, g0010..g0019)
	for _, id := range []string{"g0010", "g0011", "g0012"} {
		if !unknown[id] {
			t.Errorf("group %s is not unknown", id)
		}
	}
	if len(unknown) != 3 {
		t.Errorf("unknown groups = %v, want g0010..g0012 only", unknown)
	}
	if g := dir.Group("group-12"); g != nil && !errors.Is(g.Err, ErrServer) {
		t.Errorf("group-12 error = %v, want the server error", g.Err)
	}
}
