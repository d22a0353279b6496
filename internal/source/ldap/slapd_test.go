package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

func baseConfig(url string) config.LDAP {
	return config.LDAP{
		URLs:         config.StringList{url},
		BindDN:       slapdtest.ReaderDN,
		BindPassword: slapdtest.ReaderPW,
		Users:        config.LDAPUsers{BaseDN: "ou=people," + slapdtest.Suffix},
		Groups:       config.LDAPGroups{BaseDN: "ou=groups," + slapdtest.Suffix, Nested: true},
	}
}

func read(t *testing.T, cfg config.LDAP) (*directory.Directory, error) {
	t.Helper()
	r, err := ldap.New("corp", cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Read(ctx)
}

func mustRead(t *testing.T, cfg config.LDAP) *directory.Directory {
	t.Helper()
	d, err := read(t, cfg)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return d
}

// logins maps a group's resolved members to their logins, sorted.
func logins(t *testing.T, d *directory.Directory, group string) []string {
	t.Helper()
	g := d.Group(group)
	if g == nil {
		t.Fatalf("group %q not read", group)
	}
	if g.Err != nil {
		t.Fatalf("group %q unknown: %v", group, g.Err)
	}
	var out []string
	for _, id := range g.Members {
		out = append(out, d.Users[id].Login)
	}
	slices.Sort(out)
	return out
}

func userByLogin(d *directory.Directory, login string) *directory.User {
	for _, u := range d.Users {
		if u.Login == login {
			return u
		}
	}
	return nil
}

func TestReadOpenLDAPShapes(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	checkFixtureShapes(t, mustRead(t, baseConfig(srv.URL)))
}

// checkFixtureShapes checks a read of slapdtest.Fixture.
func checkFixtureShapes(t *testing.T, d *directory.Directory) {
	t.Helper()
	if got := len(d.Users); got != 6 {
		t.Errorf("users = %d, want 6 (carol is outside the base)", got)
	}
	tests := []struct {
		group   string
		want    []string
		ignored int
	}{
		{"platform", []string{"alice", "jsmith", "multi", "nomail"}, 1}, // carol outside the base
		{"uniq", []string{"alice", "bob"}, 0},
		{"posix", []string{"alice", "zoe"}, 1}, // ghost matches nobody
		{"level1", []string{"alice", "bob", "zoe"}, 0},
		{"level2", []string{"alice", "bob", "zoe"}, 0},
		{"level3", []string{"alice", "bob", "zoe"}, 0},
		{"équipe", []string{"zoe"}, 0},
	}
	for _, tt := range tests {
		if got := logins(t, d, tt.group); !slices.Equal(got, tt.want) {
			t.Errorf("%s members = %v, want %v", tt.group, got, tt.want)
		}
		if got := d.Group(tt.group).Ignored; got != tt.ignored {
			t.Errorf("%s ignored = %d, want %d", tt.group, got, tt.ignored)
		}
	}

	alice := userByLogin(d, "alice")
	if want := []string{"alice@example.com", "alice.alt@example.com"}; !slices.Equal(alice.Emails, want) {
		t.Errorf("alice emails = %v, want %v", alice.Emails, want)
	}
	if alice.Name != "Alice Anders" || len(alice.ID) != 36 {
		t.Errorf("alice = %+v, want name and an entryUUID id", alice)
	}
	if zoe := userByLogin(d, "zoe"); zoe.Name != "Zoë Ångström" || !slices.Equal(zoe.Emails, []string{"zoe@example.com"}) {
		t.Errorf("zoe = %+v", zoe)
	}
	if nomail := userByLogin(d, "nomail"); nomail == nil || len(nomail.Emails) != 0 {
		t.Errorf("user without e-mail must be kept, got %+v", nomail)
	}
	if js := userByLogin(d, "jsmith"); js == nil || js.Name != "Smith, John" {
		t.Errorf("jsmith = %+v", js)
	}
}

func TestReadWithoutNesting(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.Groups.Nested = false
	d := mustRead(t, cfg)
	if got := logins(t, d, "level1"); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("level1 without nesting = %v, want [bob]", got)
	}
	if g := d.Group("level1"); g.Ignored != 1 || len(g.Subgroups) != 0 {
		t.Errorf("level1: ignored %d subgroups %v, want the subgroup ignored", g.Ignored, g.Subgroups)
	}
}

func TestSizeLimitPagedAndPlain(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.People(2000) +
		"dn: ou=groups," + slapdtest.Suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n",
		SizeLimit: 500})
	cfg := baseConfig(srv.URL)

	cfg.PageSize = 300
	d := mustRead(t, cfg)
	if len(d.Users) != 2000 {
		t.Fatalf("paged read: %d users, want 2000", len(d.Users))
	}

	// With size.prtotal=unlimited slapd, like AD, limits only plain
	// searches: a read that does not page must fail, not return 500 users.
	for _, pageSize := range []int{-1} {
		cfg.PageSize = pageSize
		d, err := read(t, cfg)
		if err == nil {
			t.Fatalf("page_size %d: read %d users past a size limit of 500, want an error", pageSize, len(d.Users))
		}
		msg := err.Error()
		for _, want := range []string{"Size Limit Exceeded", "ou=people,dc=example,dc=com", "(objectClass=inetOrgPerson)", srv.URL} {
			if !strings.Contains(msg, want) {
				t.Errorf("page_size %d: error %q does not mention %q", pageSize, msg, want)
			}
		}
	}
}

func TestTLS(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, TLS: true})
	wrongCA := filepath.Join(t.TempDir(), "wrong-ca.pem")
	if err := slapdtest.WriteCAFile(wrongCA); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		url      string
		startTLS bool
	}{
		{"ldaps", srv.LDAPSURL, false},
		{"starttls", srv.URL, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := baseConfig(c.url)
			cfg.StartTLS = c.startTLS
			cfg.CAFile = srv.CAFile
			if d := mustRead(t, cfg); len(d.Users) != 6 {
				t.Errorf("users = %d, want 6", len(d.Users))
			}
			cfg.CAFile = wrongCA
			if _, err := read(t, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("wrong CA: err = %v, want a certificate error", err)
			}
			cfg.CAFile = ""
			if _, err := read(t, cfg); err == nil || !strings.Contains(err.Error(), "no LDAP server could be used") ||
				!strings.Contains(err.Error(), "give the CA that issued it in ca_file") {
				t.Errorf("no CA: err = %v, want the certificate refused, naming ca_file, not an unreachable server", err)
			}
			cfg.InsecureSkipVerify = true
			if _, err := read(t, cfg); err != nil {
				t.Errorf("insecure_skip_verify: %v", err)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.BindPassword = "not-the-password"
	_, err := read(t, cfg)
	var be *ldap.BindError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BindError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "Invalid Credentials") || !strings.Contains(msg, slapdtest.ReaderDN) {
		t.Errorf("error %q should say the credentials were refused, for which DN", msg)
	}
	if strings.Contains(msg, "not-the-password") {
		t.Errorf("error %q contains the password", msg)
	}
}

func TestFailoverAndAnonymous(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig("ldap://127.0.0.1:1") // nothing listens there
	cfg.URLs = append(cfg.URLs, srv.URL)
	cfg.BindDN, cfg.BindPassword = "", ""
	cfg.Timeout = config.Duration(2 * time.Second)
	if d := mustRead(t, cfg); len(d.Users) != 6 {
		t.Errorf("users = %d, want 6", len(d.Users))
	}
	cfg.URLs = config.StringList{"ldap://127.0.0.1:1"}
	if _, err := read(t, cfg); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("err = %v, want the unreachable server named", err)
	}
}

func TestServerKilledMidRead(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.People(3000) +
		"dn: ou=groups," + slapdtest.Suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n"})
	cfg := baseConfig(srv.KillingProxy(t, 100_000)) // users take ~400 kB
	cfg.PageSize = 100
	d, err := read(t, cfg)
	if err == nil {
		t.Fatalf("read returned %d users from a server killed mid-read, want an error", len(d.Users))
	}
	if d != nil {
		t.Errorf("a partial directory was returned with the error")
	}
	if !srv.Exited() {
		t.Fatalf("slapd still runs; the read failed for another reason: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "search users") || strings.Contains(msg, "Size Limit") {
		t.Errorf("err = %v, want the users search cut off by the crash", err)
	}
}

func TestGroupsListingFailsWholeRead(t *testing.T) {
	// Kill the server once the groups listing starts: it fails, and no
	// directory (with possibly missing groups) may come back. The users may
	// still be being read then (the groups are listed on a connection of
	// their own meanwhile): that search fails too.
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	core, logs := observer.New(zapcore.DebugLevel)
	killer := zap.New(zapcore.NewTee(core, hookCore{fn: func(e zapcore.Entry, fs []zapcore.Field) {
		for _, f := range fs {
			if f.Key == "purpose" && f.String == "groups" {
				srv.Kill()
			}
		}
	}}))
	r, err := ldap.New("corp", baseConfig(srv.URL), killer)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Read(context.Background())
	if err == nil || d != nil {
		t.Fatalf("Read = %v, %v; want an error and no directory", d, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "search groups") && !strings.Contains(msg, "search users") {
		t.Errorf("err = %v, want it to name the search cut off", err)
	}
	if logs.FilterMessage("ldap search").Len() < 2 {
		t.Errorf("searches not logged at debug level")
	}
}

func TestDebugLogIsAnLdapsearchCommand(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	core, logs := observer.New(zapcore.DebugLevel)
	r, err := ldap.New("corp", baseConfig(srv.URL), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries := logs.FilterMessage("ldap search").All()
	if len(entries) != 3 {
		t.Fatalf("%d searches logged, want 3 (users, groups, the member outside the user base)", len(entries))
	}
	cmd := loggedSearch(t, logs, "users")
	for _, want := range []string{"ldapsearch", "-H " + srv.URL, "-D cn=reader,dc=example,dc=com -W", "-b ou=people,dc=example,dc=com", "-E pr=500/noprompt", "'(objectClass=inetOrgPerson)'", "entryUUID"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, slapdtest.ReaderPW) {
				t.Errorf("log %q field %s contains the password", e.Message, k)
			}
		}
	}
	// The logged command, run with the password, finds the same users.
	args := strings.Fields(strings.ReplaceAll(cmd, "'", ""))
	args = slices.DeleteFunc(args[5:], func(s string) bool { return s == "-W" })
	out := srv.LDAPSearch(context.Background(), t, append([]string{"-x", "-w", slapdtest.ReaderPW}, args...)...)
	if n := strings.Count(string(out), "\ndn:") + strings.Count(string(out[:min(3, len(out))]), "dn:"); n != 6 {
		t.Errorf("ldapsearch found %d entries, want 6:\n%s", n, out)
	}
}

// loggedSearch returns the command logged for the search of this purpose.
// The users and the groups are searched at once, so the log's order is not
// theirs.
func loggedSearch(t *testing.T, logs *observer.ObservedLogs, purpose string) string {
	t.Helper()
	for _, e := range logs.FilterMessage("ldap search").All() {
		if m := e.ContextMap(); m["purpose"] == purpose {
			return m["command"].(string)
		}
	}
	t.Fatalf("no %s search logged", purpose)
	return ""
}

func TestCancelledContext(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	r, err := ldap.New("corp", baseConfig(srv.URL), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := r.Read(ctx); err == nil || d != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Read on a cancelled context = %v, %v", d, err)
	}
}

// hookCore calls fn for each log entry.
type hookCore struct {
	zapcore.LevelEnabler
	fn func(zapcore.Entry, []zapcore.Field)
}

func (h hookCore) Enabled(zapcore.Level) bool        { return true }
func (h hookCore) With([]zapcore.Field) zapcore.Core { return h }
func (h hookCore) Sync() error                       { return nil }
func (h hookCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	h.fn(e, fs)
	return nil
}
func (h hookCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return ce.AddCore(e, h)
}

func TestCancelledMidRead(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	canceller := zap.New(hookCore{fn: func(e zapcore.Entry, fs []zapcore.Field) {
		for _, f := range fs {
			if f.Key == "purpose" && f.String == "groups" {
				cancel()
			}
		}
	}})
	r, err := ldap.New("corp", baseConfig(srv.URL), canceller)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Read(ctx)
	if d != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Read cancelled before the groups = %v, %v; want no directory and context.Canceled", d, err)
	}
}

// peopleOnly is n users and an empty group branch.
func peopleOnly(n int) string {
	return slapdtest.People(n) + "dn: ou=groups," + slapdtest.Suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n"
}

// failed says what a read that should have failed returned.
func failed(d *directory.Directory, err error) string {
	if d == nil {
		return fmt.Sprintf("no directory, error %v", err)
	}
	return fmt.Sprintf("a directory of %d users and %d groups, error %v", len(d.Users), len(d.Groups), err)
}

// A server that stalls in the middle of a page fails the read once the
// request timeout runs out, instead of hanging it or passing on what came.
func TestServerStallsMidPage(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: peopleOnly(3000)})
	cfg := baseConfig(srv.StallingProxy(t, 30_000, 2500*time.Millisecond))
	cfg.PageSize = 1000
	cfg.Timeout = config.Duration(time.Second)
	d, err := read(t, cfg)
	if err == nil || d != nil {
		t.Fatalf("Read gave %s; want no directory and an error", failed(d, err))
	}
	for _, want := range []string{"search users", "i/o timeout", srv.URL[:len("ldap://127.0.0.1:")]} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// slapd's own time limit: the server gives up on a search (result code 3)
// while its answer waits behind a stalled reader; syncd reports it and
// passes nothing on.
func TestServerTimeLimit(t *testing.T) {
	// 3,000 users of 2 kB each: more than the socket buffers between
	// slapd and the stalled proxy hold, so slapd waits on its writes.
	var ldif strings.Builder
	ldif.WriteString(peopleOnly(0))
	pad := strings.Repeat("x", 2000)
	for i := range 3000 {
		fmt.Fprintf(&ldif, "dn: uid=user%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@example.com\ndescription: %s\n\n",
			i, slapdtest.Suffix, i, i, i, i, pad)
	}
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: ldif.String(), TimeLimit: 1})
	cfg := baseConfig(srv.StallingProxy(t, 20_000, 2500*time.Millisecond))
	cfg.PageSize = -1 // one answer of 3,000 entries
	cfg.Timeout = config.Duration(20 * time.Second)
	cfg.Users.NameAttribute = "description" // make the answer large
	d, err := read(t, cfg)
	if err == nil || d != nil {
		t.Fatalf("Read gave %s; want no directory and a time limit error", failed(d, err))
	}
	if !strings.Contains(err.Error(), "Time Limit Exceeded") || !strings.Contains(err.Error(), "ou=people,dc=example,dc=com") {
		t.Errorf("err = %v, want slapd's time limit on the users search", err)
	}
}

// The logged command, pasted into a shell with the password given, finds
// what syncd found, over StartTLS with the configured CA too.
func TestDebugLogCommandRunsInAShell(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, TLS: true})
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		srv.LDAPSearch(context.Background(), t) // skips or fails as the environment says
	}
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := baseConfig(srv.URL)
	cfg.StartTLS, cfg.CAFile = true, srv.CAFile
	r, err := ldap.New("corp", cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	cmd := loggedSearch(t, logs, "users")
	if !strings.Contains(cmd, "LDAPTLS_CACERT=") || !strings.Contains(cmd, " -ZZ ") {
		t.Errorf("command %q does not carry the CA and StartTLS", cmd)
	}
	cmd = strings.Replace(cmd, " -W ", " -w "+slapdtest.ReaderPW+" ", 1)
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	if n := strings.Count("\n"+string(out), "\ndn:"); n != 6 {
		t.Errorf("the command found %d users, want 6:\n%s", n, out)
	}
}

// slapd's size.pr limits each page: a page_size above it fails the read
// with a message that says a smaller page_size fixes it, and one below it
// reads everything.
func TestPageLimitSaysPageSize(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: peopleOnly(300), PageLimit: 100})
	cfg := baseConfig(srv.URL)
	cfg.PageSize = 250
	d, err := read(t, cfg)
	if err == nil {
		t.Fatalf("page_size 250 over size.pr=100: read %d users, want an error", len(d.Users))
	}
	if !strings.Contains(err.Error(), "a smaller page_size fixes it") || !strings.Contains(err.Error(), "page_size (250)") {
		t.Errorf("err = %v, want it to say that a smaller page_size fixes it", err)
	}
	cfg.PageSize = 100
	if d := mustRead(t, cfg); len(d.Users) != 300 {
		t.Errorf("page_size 100: %d users, want 300", len(d.Users))
	}
}

// size.prtotal limits the whole paged result: the error is met after the
// first pages, and does not send the admin to page_size.
func TestPagedTotalLimit(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: peopleOnly(300), PagedTotal: 250})
	cfg := baseConfig(srv.URL)
	cfg.PageSize = 100
	d, err := read(t, cfg)
	if err == nil || d != nil {
		t.Fatalf("Read = %s; want a size limit error", failed(d, err))
	}
	if msg := err.Error(); !strings.Contains(msg, "size.prtotal") || strings.Contains(msg, "smaller page_size") {
		t.Errorf("err = %v, want it to name the total limit, not page_size", err)
	}
}

// StartTLS to a slapd without TLS fails the read, naming StartTLS.
func TestStartTLSWithoutServerTLS(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.StartTLS = true
	d, err := read(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "StartTLS with "+srv.URL) {
		t.Fatalf("Read = %s; want a StartTLS error", failed(d, err))
	}
}

// slapd's size limits, as an account without a limits rule meets them
// (size 500 for the whole paged result too), or with paging disabled: each
// error says which limit and how to get past it, never a page_size that
// cannot help.
func TestSizeLimitMessages(t *testing.T) {
	for _, tc := range []struct {
		limits   string
		pageSize int
		want     []string
		not      string
	}{
		{"size=500", 500, []string{"on page 2, after 500 entries", "size.hard where size.prtotal is unset", "size.prtotal=unlimited"}, "smaller page_size"},
		{"size=500", 50, []string{"on page 11, after 500 entries"}, "smaller page_size"},
		{"size=unlimited size.prtotal=disabled", 500, []string{"pagedResults control not allowed", "does not let syncd's account page", "size.prtotal=unlimited"}, "smaller page_size"},
		{"size=unlimited size.prtotal=50", 500, []string{"after 50 entries, on the first page (page_size 500)", "on OpenLDAP it is on the whole paged result", "below 50"}, ""},
	} {
		srv := slapdtest.Start(t, slapdtest.Options{LDIF: peopleOnly(600), SizeLimits: tc.limits})
		cfg := baseConfig(srv.URL)
		cfg.PageSize = tc.pageSize
		d, err := read(t, cfg)
		if err == nil {
			t.Errorf("%s, page_size %d: read %d users, want a size limit error", tc.limits, tc.pageSize, len(d.Users))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s, page_size %d: err %v\nwant it to say %q", tc.limits, tc.pageSize, err, w)
			}
		}
		if tc.not != "" && strings.Contains(err.Error(), tc.not) {
			t.Errorf("%s, page_size %d: err %v\nshould not say %q", tc.limits, tc.pageSize, err, tc.not)
		}
	}

	// The fix docs/openldap.md gives, under slapd's default limits.
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: peopleOnly(600), SizeLimits: "size=500",
		Limits: `limits dn.exact="` + slapdtest.ReaderDN + `" size.prtotal=unlimited`})
	if d := mustRead(t, baseConfig(srv.URL)); len(d.Users) != 600 {
		t.Errorf("size.prtotal=unlimited for the account: %d users, want 600", len(d.Users))
	}
	cfg := baseConfig(srv.URL)
	cfg.PageSize = -1 // not paged: the account keeps its limit of 500
	if _, err := read(t, cfg); err == nil || !strings.Contains(err.Error(), "Size Limit Exceeded") {
		t.Errorf("plain search with the docs' rule: err %v, want the size limit", err)
	}
}
