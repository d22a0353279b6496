package ldap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/backoff"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

// A Feed follows one LDAP source's changes for watch mode and says when
// something syncd reads may have changed; it never says what the
// directory holds. The engine decides what changed on a complete read
// (internal/sync/incremental.go), so a feed may report too much (a
// change is then found to touch nothing) but must never stay silent about
// a change it saw, and says so (Resync) when it may have missed some.
//
// Feeds, by server:
//   - syncrepl: RFC 4533 refreshAndPersist (OpenLDAP with the syncprov
//     overlay), resumed from its cookie after a reconnect or a restart;
//   - persistent_search: the persistent search control (389-ds, FreeIPA);
//     no cookie, so a reconnect asks for a comparison (Resync);
//   - dirsync: Active Directory's DirSync, polled, resumed from its cookie;
//     without the "Replicating Directory Changes" right it runs in object
//     security mode, which does not see deletions;
//   - usn_changed: polling uSNChanged on an Active Directory domain
//     controller (no right needed, deletions not seen);
//   - modify_timestamp: polling modifyTimestamp on any server (deletions
//     not seen, unless they modify the groups that listed them).
type Feed struct {
	r      *Reader
	want   string // the configured feed (auto, or one of the above)
	poll   time.Duration
	log    *zap.Logger
	wait   backoff.Exponential
	attrs  []string // what the reader reads of users and groups
	now    func() time.Time
	saved  *position // where a restart resumes from; nil when nothing was saved
	sleep  func(context.Context, time.Duration) error
	prints map[string]uint64 // canonical DN -> fingerprint of what syncd reads of it

	mu  gosync.Mutex
	pos *position // where the feed is now
}

// Events is what a feed reports, from its own goroutine.
type Events interface {
	// Connected: the feed follows the server's changes (resumed: from a
	// position saved before a restart).
	Connected(feed string, resumed bool)
	// Disconnected: the feed lost the server; it reconnects with backoff.
	Disconnected(err error)
	// Changed: an entry syncd reads was added, deleted, or changed in what
	// syncd reads of it.
	Changed(seen time.Time)
	// Ignored: an entry changed in nothing syncd reads.
	Ignored()
	// Resync: changes may have been missed (a reconnect without a cookie,
	// a cookie the server refused): compare everything.
	Resync(seen time.Time, why string)
}

// position is where a feed is in the server's changes: what it resumes
// from after a reconnect, and after a restart once saved.
type position struct {
	Feed   string `json:"feed"`
	Spec   string `json:"spec"`             // the searches it is for; another spec discards it
	Cookie []byte `json:"cookie,omitempty"` // syncrepl, dirsync
	Flags  int64  `json:"flags,omitempty"`  // dirsync's mode
	Server string `json:"server,omitempty"` // usn_changed: the domain controller (its dsServiceName)
	USN    int64  `json:"usn,omitempty"`
	Stamp  string `json:"stamp,omitempty"` // modify_timestamp
}

// FeedOptions are a feed's optional settings.
type FeedOptions struct {
	// Saved is what Position returned before a restart; a position for
	// other searches (the configuration changed) is ignored.
	Saved []byte
	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// NewFeed returns the feed of an LDAP source. Nothing is contacted yet.
func NewFeed(name string, cfg config.LDAP, o FeedOptions, logger *zap.Logger) (*Feed, error) {
	r, err := New(name, cfg, logger)
	if err != nil {
		return nil, err
	}
	f := &Feed{r: r, want: cfg.Watch.Feed, poll: cfg.Watch.PollInterval.Std(), log: r.log.Named("watch"),
		wait:  backoff.Exponential{Base: time.Second, Cap: time.Minute, Jitter: backoff.Uniform},
		attrs: uniqueFold(append(slices.Clone(r.userAttrs), r.groupAttrs...)), now: o.Now, sleep: o.Sleep,
		prints: map[string]uint64{}}
	if f.want == "" {
		f.want = config.FeedAuto
	}
	if f.poll <= 0 {
		f.poll = config.DefaultPollInterval
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.sleep == nil {
		f.sleep = backoff.Sleep
	}
	if len(o.Saved) > 0 {
		var p position
		if err := json.Unmarshal(o.Saved, &p); err != nil {
			f.log.Warn("the saved feed position cannot be read; the feed starts afresh", zap.Error(err))
		} else {
			f.saved = &p
		}
	}
	return f, nil
}

// Source is the source's name.
func (f *Feed) Source() string { return f.r.name }

// Position returns where the feed is now, to be saved once what it
// reported so far has been planned (nil: nothing to resume from).
func (f *Feed) Position() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pos == nil {
		return nil
	}
	b, _ := json.Marshal(f.pos)
	return b
}

func (f *Feed) setPosition(p position) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pos = &p
}

// resumeFrom returns the saved position for feed and spec, or nil; the
// position the feed reached in this process comes first.
func (f *Feed) resumeFrom(feed, spec string) *position {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range []*position{f.pos, f.saved} {
		if p != nil && p.Feed == feed && p.Spec == spec {
			c := *p
			return &c
		}
	}
	return nil
}

// errFallBack is a feed the server refuses, in auto mode: the next feed
// of the list is tried on the same connection.
type errFallBack struct {
	feed string
	err  error
}

func (e *errFallBack) Error() string { return fmt.Sprintf("%s refused: %v", e.feed, e.err) }
func (e *errFallBack) Unwrap() error { return e.err }

// Run follows the source until ctx ends: it connects (failing over
// between the configured URLs), picks the feed, follows it, and after a
// failure reconnects with backoff. It returns ctx's error.
func (f *Feed) Run(ctx context.Context, ev Events) error {
	attempt := 0
	var connected atomic.Bool // since the process started
	for ctx.Err() == nil {
		start := f.now()
		err := f.session(ctx, ev, connected.Load(), func() { connected.Store(true) })
		if ctx.Err() != nil {
			break
		}
		ev.Disconnected(err)
		// A notification may have been lost with the connection, and the
		// feed resumes with entries as they are by then: one that changed
		// and changed back (a member added, then removed) would compare
		// equal to what the feed knew, while a complete read in between
		// may have applied the change. So nothing known before counts.
		clear(f.prints)
		if f.now().Sub(start) > 5*time.Minute {
			attempt = 0 // a feed that ran for a while starts its backoff afresh
		}
		wait := f.wait.Wait(attempt)
		attempt++
		var be *BindError
		if errors.As(err, &be) && be.CredentialsRefused() {
			wait = CredentialsRefusedWait
			f.log.Error("change feed down: the directory refused syncd's credentials; the feed will not bind again before the wait is over, "+
				"so as not to lock the account out (fix bind_dn or the password, then reload: SIGHUP)", zap.Error(err), zap.Duration("in", wait))
		} else {
			f.log.Warn("change feed down; reconnecting", zap.Error(err), zap.Duration("in", wait))
		}
		_ = f.sleep(ctx, wait)
	}
	return ctx.Err()
}

// CredentialsRefusedWait is how long a change feed waits after its bind
// was refused for a wrong name or password. Active Directory locks an
// account after a few wrong passwords (often 5 within 30 minutes), and a
// feed reconnecting with backoff would spend them in a minute; this wait,
// with a scheduled run's own bind, stays well under any such policy. A
// reload (SIGHUP) restarts the feeds, with the fixed password, at once.
const CredentialsRefusedWait = 30 * time.Minute

// session runs the feed over one connection until it fails.
func (f *Feed) session(ctx context.Context, ev Events, reconnect bool, up func()) error {
	s, err := f.r.connect(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	root, err := readRoot(s)
	if err != nil {
		return err
	}
	run := &feedRun{f: f, s: s, ev: ev, root: root, reconnect: reconnect, up: up}
	for _, kind := range f.candidates(root) {
		err = run.follow(ctx, kind)
		var fb *errFallBack
		if !errors.As(err, &fb) || f.want != config.FeedAuto {
			return err
		}
		f.log.Info("change feed not available here; trying the next", zap.String("feed", fb.feed), zap.Error(fb.err))
	}
	return err
}

// Check connects once and says which change feed the server would give
// (what `syncd validate --connect` prints), or why the configured one
// cannot work: a feed asked for by name whose control the server's root
// DSE does not list would otherwise only fail in the daemon's log (an
// OpenLDAP asked for persistent_search refuses it, result 12). A root DSE
// that lists no control at all (not readable to this account) proves
// nothing, and is said so.
func (f *Feed) Check(ctx context.Context) (string, error) {
	s, err := f.r.connect(ctx)
	if err != nil {
		return "", err
	}
	defer s.close()
	root, err := readRoot(s)
	if err != nil {
		return "", err
	}
	if len(root.controls) == 0 {
		return f.want + " (not checked: the root DSE lists no supported control to this account)", nil
	}
	kinds := f.candidates(root)
	if f.want == config.FeedAuto {
		return kinds[0] + " (auto)", nil
	}
	if need := feedControl(f.want, root); need != "" {
		return "", fmt.Errorf("change feed %s: the server does not offer it (its root DSE lists no %s); use watch.feed: auto, or a feed it offers", f.want, need)
	}
	return f.want, nil
}

// feedControl is the control a feed kind needs that root lacks, "" when
// none is missing.
func feedControl(kind string, root *rootDSE) string {
	need := map[string]string{config.FeedSyncrepl: oidSyncRequest, config.FeedPersistentSearch: oidPersistentSearch,
		config.FeedDirSync: oidDirSync}[kind]
	switch {
	case need != "" && !slices.Contains(root.controls, need):
		return "control " + need
	case kind == config.FeedUSNChanged && !root.activeDirectory():
		return "Active Directory capability"
	}
	return ""
}

// candidates are the feeds to try, in order: the configured one, or in
// auto mode what the root DSE says the server offers.
func (f *Feed) candidates(root *rootDSE) []string {
	if f.want != config.FeedAuto {
		return []string{f.want}
	}
	var out []string
	switch {
	case root.activeDirectory():
		out = append(out, config.FeedDirSync, config.FeedUSNChanged)
	case slices.Contains(root.controls, oidSyncRequest):
		out = append(out, config.FeedSyncrepl)
	case slices.Contains(root.controls, oidPersistentSearch):
		out = append(out, config.FeedPersistentSearch)
	}
	return append(out, config.FeedModifyTimestamp)
}

// feedRun is one feed over one connection.
type feedRun struct {
	f         *Feed
	s         *session
	ev        Events
	root      *rootDSE
	reconnect bool   // the feed was connected before in this process
	up        func() // called once the feed follows the server
}

// follow runs the feed kind until it fails.
func (r *feedRun) follow(ctx context.Context, kind string) error {
	switch kind {
	case config.FeedSyncrepl:
		return r.syncrepl(ctx)
	case config.FeedPersistentSearch:
		return r.persistentSearch(ctx)
	case config.FeedDirSync:
		return r.dirSync(ctx)
	case config.FeedUSNChanged:
		return r.usnChanged(ctx)
	case config.FeedModifyTimestamp:
		return r.modifyTimestamp(ctx)
	}
	return fmt.Errorf("no change feed %q", kind)
}

// connected reports the feed as following the server.
func (r *feedRun) connected(kind string, resumed bool) {
	r.up()
	r.f.log.Info("following the directory's changes", zap.String("feed", kind), zap.Bool("resumed", resumed))
	r.ev.Connected(kind, resumed)
}

// rootDSE is what the feeds need of the server's root DSE.
type rootDSE struct {
	controls, capabilities []string
	defaultNC              string
	namingContexts         []string
	dsServiceName          string
	highestUSN             int64
}

func (r *rootDSE) activeDirectory() bool {
	return slices.ContainsFunc(inChainCapabilities, func(c string) bool { return slices.Contains(r.capabilities, c) })
}

func readRoot(s *session) (*rootDSE, error) {
	q := query{base: "", scope: goldap.ScopeBaseObject, filter: "(objectClass=*)", purpose: "root DSE",
		attrs: []string{"supportedControl", "supportedCapabilities", "defaultNamingContext", "namingContexts",
			"dsServiceName", "highestCommittedUSN"}}
	root := &rootDSE{}
	_, err := s.search(q, func(e *Entry) error {
		root.controls = e.Values("supportedControl")
		root.capabilities = e.Values("supportedCapabilities")
		root.defaultNC = e.First("defaultNamingContext")
		root.namingContexts = e.Values("namingContexts")
		root.dsServiceName = e.First("dsServiceName")
		fmt.Sscan(e.First("highestCommittedUSN"), &root.highestUSN)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the root DSE: %w", err)
	}
	return root, nil
}

// relevant tells whether an entry lies where syncd reads users or groups.
func (f *Feed) relevant(dn string) bool {
	u, g := f.r.cfg.Users, f.r.cfg.Groups
	return InScope(dn, u.BaseDN, u.Scope) || InScope(dn, g.BaseDN, g.Scope)
}

// fingerprint sums up what syncd reads of an entry.
func fingerprint(e *Entry) uint64 {
	h := fnv.New64a()
	names := make([]string, 0, len(e.Attrs))
	for n := range e.Attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		vals := slices.Clone(e.Attrs[n])
		slices.Sort(vals)
		fmt.Fprintf(h, "%s\x00%q\x00", n, vals)
	}
	return h.Sum64()
}

// learn remembers what an entry holds, without reporting it (a feed's
// initial content).
func (f *Feed) learn(e *Entry) {
	if f.relevant(e.DN) {
		f.prints[directory.CanonicalDN(e.DN)] = fingerprint(e)
	}
}

// saw reports an entry added or modified: a change when it lies where
// syncd reads and differs from what the feed knew of it (or the feed knew
// nothing of it), else ignored.
func (f *Feed) saw(ev Events, e *Entry) {
	if !f.relevant(e.DN) {
		ev.Ignored()
		return
	}
	k, fp := directory.CanonicalDN(e.DN), fingerprint(e)
	if old, ok := f.prints[k]; ok && old == fp {
		ev.Ignored()
		return
	}
	f.prints[k] = fp
	ev.Changed(f.now())
}

// unsure handles an entry that could not be read whole (the server did
// not finish handing over its member list): what syncd reads of it is
// unknown, so it is forgotten, to be compared afresh once read whole, and
// reported (when ev is not nil) as a change, since the feed cannot tell.
func (f *Feed) unsure(ev Events, e *Entry, err error) {
	if !f.relevant(e.DN) {
		return
	}
	f.log.Warn("a user or group could not be read whole; the feed takes it as changed", zap.String("dn", e.DN), zap.Error(err))
	delete(f.prints, directory.CanonicalDN(e.DN))
	if ev != nil {
		ev.Changed(f.now())
	}
}

// gone reports an entry deleted (or moved away) under dn.
func (f *Feed) gone(ev Events, dn string) {
	delete(f.prints, directory.CanonicalDN(dn))
	if dn != "" && !f.relevant(dn) {
		ev.Ignored()
		return
	}
	ev.Changed(f.now())
}

// spec names the searches a position is for: the feed, the server's
// naming of them and what is read.
func (f *Feed) spec(kind string, parts ...string) string {
	h := sha256.New()
	u, g := f.r.cfg.Users, f.r.cfg.Groups
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%q\x00%q", kind, u.BaseDN, u.Scope, u.Filter, g.BaseDN, g.Scope, g.Filter, f.attrs, parts)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// subtree is one search covering both the users and the groups a
// streaming feed follows: their closest common ancestor, the subtree
// scope unless both are the same one-level search, and either filter.
func (f *Feed) subtree() (base string, scope int, filter string, err error) {
	u, g := f.r.cfg.Users, f.r.cfg.Groups
	base = commonAncestor(u.BaseDN, g.BaseDN)
	if base == "" {
		return "", 0, "", fmt.Errorf("users.base_dn %q and groups.base_dn %q have no common ancestor for one search to follow (use feed: modify_timestamp)", u.BaseDN, g.BaseDN)
	}
	scope = goldap.ScopeWholeSubtree
	if directory.CanonicalDN(u.BaseDN) == directory.CanonicalDN(g.BaseDN) && f.r.userScope == f.r.groupScope {
		scope = f.r.userScope
	}
	filter = "(|" + u.Filter + g.Filter + ")"
	return base, scope, filter, nil
}

// commonAncestor returns the longest DN both a and b lie under (in a's
// spelling), or "" when they share no RDN.
func commonAncestor(a, b string) string {
	pa, pb := dnParts(a), dnParts(b)
	n := 0
	for n < len(pa) && n < len(pb) && pa[len(pa)-1-n].canon == pb[len(pb)-1-n].canon {
		n++
	}
	if n == 0 {
		return ""
	}
	parts := make([]string, 0, n)
	for _, p := range pa[len(pa)-n:] {
		parts = append(parts, p.orig)
	}
	return strings.Join(parts, ",")
}

type rdn struct{ orig, canon string }

// dnParts splits a DN into its RDNs (escaped commas stay inside).
func dnParts(dn string) []rdn {
	var out []rdn
	start := 0
	for i := 0; i <= len(dn); i++ {
		if i < len(dn) && dn[i] == '\\' {
			i++
			continue
		}
		if i == len(dn) || dn[i] == ',' {
			part := strings.TrimSpace(dn[start:i])
			if part != "" {
				out = append(out, rdn{orig: part, canon: directory.CanonicalDN(part)})
			}
			start = i + 1
		}
	}
	return out
}
