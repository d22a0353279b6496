package ldap

import (
	"context"
	"errors"
	"fmt"

	"github.com/syncd/syncd/internal/config"
)

// RFC 4533 (LDAP Content Synchronization).
const (
	oidSyncRequest = "1.3.6.1.4.1.4203.1.9.1.1"
	oidSyncState   = "1.3.6.1.4.1.4203.1.9.1.2"
	oidSyncDone    = "1.3.6.1.4.1.4203.1.9.1.3"
	oidSyncInfo    = "1.3.6.1.4.1.4203.1.9.1.4"

	syncRefreshAndPersist = 3

	// States of an entry (syncStateValue).
	syncPresent = 0
	syncAdd     = 1
	syncModify  = 2
	syncDelete  = 3

	// resultSyncRefreshRequired is e-syncRefreshRequired: the cookie can
	// no longer be served; start again without it.
	resultSyncRefreshRequired = 4096
)

// Result codes that mean the server does not offer a feed at all.
const (
	resultUnavailableCriticalExtension = 12
	resultUnwillingToPerform           = 53
	resultInsufficientAccess           = 50
)

// refused tells a server that does not offer the feed (or not to this
// account) from a feed that failed.
func refused(err error) bool {
	var re *ResultError
	return errors.As(err, &re) && (re.Code == resultUnavailableCriticalExtension ||
		re.Code == resultUnwillingToPerform || re.Code == resultInsufficientAccess)
}

// syncRequestValue encodes the Sync Request control's value.
func syncRequestValue(cookie []byte) []byte {
	parts := [][]byte{berInt(tagEnumerated, syncRefreshAndPersist)}
	if cookie != nil {
		parts = append(parts, tlv(tagOctetString, cookie))
	}
	return tlv(tagSequence, parts...)
}

// syncrepl follows the server with refreshAndPersist, from the cookie
// reached in this process or saved before a restart. The refresh phase
// without a cookie is the initial content: learned, not reported. With a
// cookie it holds what changed since: reported, entry by entry.
func (r *feedRun) syncrepl(ctx context.Context) error {
	base, scope, filter, err := r.f.subtree()
	if err != nil {
		return &errFallBack{feed: config.FeedSyncrepl, err: err}
	}
	fb, err := compileFilter(filter)
	if err != nil {
		return err
	}
	spec := r.f.spec(config.FeedSyncrepl, base, filter)
	sr := &syncRun{run: r, spec: spec, refreshing: true}
	if from := r.f.resumeFrom(config.FeedSyncrepl, spec); from != nil {
		sr.cookie = from.Cookie
	}
	sr.withCookie = sr.cookie != nil
	q := query{base: base, scope: scope, filter: filter, attrs: r.f.attrs, purpose: "syncrepl"}
	r.s.logSearch(q)
	req := searchRequest(base, scope, 0, fb, r.f.attrs)
	done, err := r.s.conn.stream(req, control(oidSyncRequest, true, syncRequestValue(sr.cookie)), sr.handle)
	if c, ok := done[oidSyncDone]; ok {
		sr.syncDone(c)
	}
	var re *ResultError
	switch {
	case errors.As(err, &re) && re.Code == resultSyncRefreshRequired:
		r.f.setPosition(position{Feed: config.FeedSyncrepl, Spec: spec})
		r.ev.Resync(r.f.now(), "the server can no longer serve changes from the cookie and asked for a full refresh")
		return fmt.Errorf("syncrepl: %w", err)
	case refused(err) && !sr.started:
		return &errFallBack{feed: config.FeedSyncrepl, err: err}
	case err == nil:
		return errors.New("syncrepl: the server ended the search")
	}
	return fmt.Errorf("syncrepl: %w", err)
}

// syncRun is one refreshAndPersist search.
type syncRun struct {
	run        *feedRun
	spec       string
	cookie     []byte
	withCookie bool // the refresh started from a cookie
	refreshing bool // the refresh phase is not over
	present    bool // the refresh ran a present phase: deletions were not listed
	started    bool // the server answered with something
}

func (sr *syncRun) setCookie(c []byte) {
	if c == nil {
		return
	}
	sr.cookie = c
	sr.run.f.setPosition(position{Feed: config.FeedSyncrepl, Spec: sr.spec, Cookie: c})
}

func (sr *syncRun) handle(m message) error {
	sr.started = true
	switch m.tag {
	case appSearchEntry:
		return sr.entry(m)
	case appIntermediate:
		if m.name == oidSyncInfo {
			return sr.info(m.value)
		}
	}
	return nil
}

func (sr *syncRun) entry(m message) error {
	state, cookie, err := syncState(m.ctrls[oidSyncState])
	if err != nil {
		return err
	}
	f, ev := sr.run.f, sr.run.ev
	switch {
	case state == syncDelete:
		f.gone(ev, m.entry.DN)
	case state == syncPresent:
		// An entry unchanged since the cookie: nothing to say.
	case sr.refreshing && !sr.withCookie:
		f.learn(m.entry) // the initial content
	default:
		f.saw(ev, m.entry)
	}
	sr.setCookie(cookie)
	return nil
}

// syncState decodes a syncStateValue: the entry's state and its cookie.
func syncState(v []byte) (state int64, cookie []byte, err error) {
	if v == nil {
		return 0, nil, errors.New("syncrepl: an entry without its Sync State control")
	}
	r, err := (&berReader{b: v}).sub(tagSequence)
	if err != nil {
		return 0, nil, err
	}
	if state, err = r.int(tagEnumerated); err != nil {
		return 0, nil, err
	}
	if _, err = r.bytes(tagOctetString); err != nil { // entryUUID
		return 0, nil, err
	}
	cookie, err = r.optBytes(tagOctetString)
	return state, cookie, err
}

// info handles a Sync Info message.
func (sr *syncRun) info(v []byte) error {
	r := &berReader{b: v}
	switch r.peek() {
	case ctxTag0: // newcookie
		c, err := r.bytes(ctxTag0)
		if err != nil {
			return err
		}
		sr.setCookie(append([]byte{}, c...))
		return nil
	case ctxSeq1, ctxSeq2: // refreshDelete, refreshPresent
		if r.peek() == ctxSeq2 {
			sr.present = true
		}
		body, err := r.sub(r.peek())
		if err != nil {
			return err
		}
		return sr.refreshEnd(body)
	case ctxSeq3: // syncIdSet
		body, err := r.sub(ctxSeq3)
		if err != nil {
			return err
		}
		return sr.idSet(body)
	}
	return fmt.Errorf("syncrepl: unknown Sync Info message (tag %#x)", r.peek())
}

func (sr *syncRun) refreshEnd(body *berReader) error {
	cookie, err := body.optBytes(tagOctetString)
	if err != nil {
		return err
	}
	done, err := body.boolean(true)
	if err != nil {
		return err
	}
	sr.setCookie(cookie)
	if done && sr.refreshing {
		sr.refreshDone()
	}
	return nil
}

// idSet handles a syncIdSet: the UUIDs of deleted entries
// (refreshDeletes) or of the entries still present.
func (sr *syncRun) idSet(body *berReader) error {
	cookie, err := body.optBytes(tagOctetString)
	if err != nil {
		return err
	}
	deletes, err := body.boolean(false)
	if err != nil {
		return err
	}
	uuids, err := body.sub(tagSet)
	if err != nil {
		return err
	}
	sr.setCookie(cookie)
	switch {
	case !deletes:
		sr.present = true
	case uuids.more():
		sr.run.ev.Changed(sr.run.f.now()) // entries deleted; which ones the complete read says
	}
	return nil
}

// refreshDone ends the refresh phase: the feed now follows the server. A
// refresh that could not list deletions, or a reconnect without a cookie,
// may have missed changes.
func (sr *syncRun) refreshDone() {
	sr.refreshing = false
	r := sr.run
	r.connected(config.FeedSyncrepl, sr.withCookie && !r.reconnect)
	switch {
	case sr.withCookie && sr.present:
		r.ev.Resync(r.f.now(), "the server answered the cookie with the entries present rather than those deleted")
	case !sr.withCookie && r.reconnect:
		r.ev.Resync(r.f.now(), "reconnected without a cookie")
	}
}

// syncDone takes the cookie of a search the server ended.
func (sr *syncRun) syncDone(v []byte) {
	r, err := (&berReader{b: v}).sub(tagSequence)
	if err != nil {
		return
	}
	if c, err := r.optBytes(tagOctetString); err == nil {
		sr.setCookie(c)
	}
}
