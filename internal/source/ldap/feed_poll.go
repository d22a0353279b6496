package ldap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
)

// Active Directory's DirSync control.
const (
	oidDirSync = "1.2.840.113556.1.4.841"
	// dirSyncObjectSecurity lets an account without the "Replicating
	// Directory Changes" right use DirSync on what it may read; deleted
	// objects are then not returned.
	dirSyncObjectSecurity = 0x1
)

// dirSyncFilter matches every user and group, deleted ones (tombstones,
// which keep objectClass but lose objectCategory) included; which of them
// matter is decided by where they are.
const dirSyncFilter = "(|(objectClass=user)(objectClass=group))"

// dirSync polls Active Directory with DirSync, from the cookie reached in
// this process or saved before a restart. The first call without a cookie
// returns every object: the initial content, not reported. DirSync returns
// an object only when an attribute asked for changed, so what it returns
// is a change. Without the replication right it falls back to object
// security mode (deletions not seen), and without that to usn_changed.
func (r *feedRun) dirSync(ctx context.Context) error {
	base := r.root.defaultNC
	if base == "" {
		return &errFallBack{feed: config.FeedDirSync, err: errors.New("the root DSE names no defaultNamingContext")}
	}
	spec := r.f.spec(config.FeedDirSync, base)
	pos := position{Feed: config.FeedDirSync, Spec: spec}
	resumed := false
	if from := r.f.resumeFrom(config.FeedDirSync, spec); from != nil {
		pos, resumed = *from, !r.reconnect
	}
	first, fresh := true, pos.Cookie == nil
	for {
		err := r.dirSyncOnce(base, &pos)
		var re *ResultError
		switch {
		case errors.As(err, &re) && pos.Cookie != nil:
			// The server answered, and refused: the cookie (from another
			// domain controller, or too old) is no good any more.
			r.f.log.Warn("DirSync refused the cookie; following afresh", zap.Error(err))
			pos, fresh, resumed = position{Feed: config.FeedDirSync, Spec: spec, Flags: pos.Flags}, true, false
			r.restarted(first, "the server refused DirSync's cookie")
			continue
		case refused(err) && pos.Flags&dirSyncObjectSecurity == 0:
			r.f.log.Warn("DirSync refused without object security; following changes in object security mode, where deleted accounts are seen only at the scheduled run (the \"Replicating Directory Changes\" right lets syncd see them)", zap.Error(err))
			pos, fresh, resumed = position{Feed: config.FeedDirSync, Spec: spec, Flags: dirSyncObjectSecurity}, true, false
			r.restarted(first, "DirSync now runs in object security mode")
			continue
		case refused(err) && first:
			return &errFallBack{feed: config.FeedDirSync, err: err}
		case err != nil:
			return fmt.Errorf("dirsync: %w", err)
		}
		if first {
			first = false
			name := config.FeedDirSync
			if pos.Flags&dirSyncObjectSecurity != 0 {
				name += " (object security)"
			}
			r.connected(name, resumed)
			if r.reconnect && fresh {
				r.ev.Resync(r.f.now(), "reconnected without a cookie")
			}
		}
		if err := r.f.sleep(ctx, r.f.poll); err != nil {
			return err
		}
	}
}

// restarted says, once a feed followed the server, that it had to start
// again without its position: changes may have been missed meanwhile.
func (r *feedRun) restarted(first bool, why string) {
	if !first {
		r.ev.Resync(r.f.now(), why)
	}
}

// dirSyncOnce asks for the changes since pos, page after page, and moves
// pos on. Without a cookie the answer is the initial content.
func (r *feedRun) dirSyncOnce(base string, pos *position) error {
	initial := pos.Cookie == nil
	attrs := append(append([]string{}, r.f.attrs...), "isDeleted", "lastKnownParent")
	q := query{base: base, scope: goldap.ScopeWholeSubtree, filter: dirSyncFilter, attrs: attrs, purpose: "dirsync"}
	for {
		value := tlv(tagSequence, berInt(tagInteger, pos.Flags), berInt(tagInteger, 0), tlv(tagOctetString, pos.Cookie))
		done, err := r.s.searchWith(q, control(oidDirSync, true, value), func(e *Entry) error {
			if !initial {
				r.dirSyncEntry(e)
			}
			return nil
		})
		if err != nil {
			return err
		}
		more, cookie, err := dirSyncResponse(done[oidDirSync])
		if err != nil {
			return err
		}
		pos.Cookie = cookie
		r.f.setPosition(*pos)
		if !more {
			return nil
		}
	}
}

// dirSyncEntry reports one object DirSync returned: a deleted one by
// where it was (lastKnownParent), the others by where they are.
func (r *feedRun) dirSyncEntry(e *Entry) {
	if strings.EqualFold(e.First("isDeleted"), "TRUE") {
		rdn, _, _ := strings.Cut(e.DN, "\\0A")
		r.f.gone(r.ev, rdn+","+e.First("lastKnownParent"))
		return
	}
	if !r.f.relevant(e.DN) {
		r.ev.Ignored()
		return
	}
	r.ev.Changed(r.f.now())
}

// dirSyncResponse decodes the DirSync response control: whether more
// changes wait, and the cookie.
func dirSyncResponse(v []byte) (bool, []byte, error) {
	if v == nil {
		return false, nil, errors.New("the answer carries no DirSync control")
	}
	r, err := (&berReader{b: v}).sub(tagSequence)
	if err != nil {
		return false, nil, err
	}
	more, err := r.int(tagInteger)
	if err != nil {
		return false, nil, err
	}
	if _, err := r.int(tagInteger); err != nil {
		return false, nil, err
	}
	cookie, err := r.bytes(tagOctetString)
	return more != 0, append([]byte{}, cookie...), err
}

// usnChanged polls an Active Directory domain controller: its
// highestCommittedUSN says whether anything changed, and the users and
// groups with a higher uSNChanged are what did. USNs are the domain
// controller's own, so the position names it; another one (a failover)
// starts over with a comparison.
func (r *feedRun) usnChanged(ctx context.Context) error {
	if r.root.dsServiceName == "" || r.root.highestUSN == 0 {
		return &errFallBack{feed: config.FeedUSNChanged, err: errors.New("the root DSE has no dsServiceName or highestCommittedUSN: not an Active Directory domain controller")}
	}
	spec := r.f.spec(config.FeedUSNChanged)
	from := r.f.resumeFrom(config.FeedUSNChanged, spec)
	resumed := from != nil && from.Server == r.root.dsServiceName && from.USN <= r.root.highestUSN
	pos := position{Feed: config.FeedUSNChanged, Spec: spec, Server: r.root.dsServiceName, USN: r.root.highestUSN}
	if resumed {
		pos.USN = from.USN
	} else if err := r.content("uSNChanged", nil); err != nil {
		return err
	}
	r.f.setPosition(pos)
	r.connected(config.FeedUSNChanged, resumed && !r.reconnect)
	if !resumed && (r.reconnect || from != nil) {
		r.ev.Resync(r.f.now(), "following another domain controller, or one without a position")
	}
	for {
		if err := r.f.sleep(ctx, r.f.poll); err != nil {
			return err
		}
		root, err := readRoot(r.s)
		if err != nil {
			return err
		}
		if root.dsServiceName != pos.Server {
			return fmt.Errorf("usn_changed: now answered by %s, not %s", root.dsServiceName, pos.Server)
		}
		if root.highestUSN <= pos.USN {
			continue
		}
		filter := "(uSNChanged>=" + strconv.FormatInt(pos.USN+1, 10) + ")"
		if err := r.changedSince(filter, "uSNChanged", false, nil); err != nil {
			return err
		}
		pos.USN = root.highestUSN
		r.f.setPosition(pos)
	}
}

// modifyTimestamp polls any server for users and groups modified since
// the latest modifyTimestamp seen. Timestamps have a resolution of one
// second, so the entries of the latest second come back at each poll:
// those whose fingerprint did not change are not reported.
func (r *feedRun) modifyTimestamp(ctx context.Context) error {
	spec := r.f.spec(config.FeedModifyTimestamp)
	pos := position{Feed: config.FeedModifyTimestamp, Spec: spec}
	from := r.f.resumeFrom(config.FeedModifyTimestamp, spec)
	resumed := from != nil && from.Stamp != ""
	if resumed {
		pos.Stamp = from.Stamp
	} else {
		n := 0
		if err := r.content("modifyTimestamp", func(e *Entry) { pos.Stamp, n = later(pos.Stamp, e.First("modifyTimestamp")), n+1 }); err != nil {
			return err
		}
		if pos.Stamp == "" && n > 0 {
			return errors.New("modify_timestamp: the account cannot read modifyTimestamp of the users and groups")
		}
	}
	r.f.setPosition(pos)
	r.connected(config.FeedModifyTimestamp, resumed && !r.reconnect)
	for {
		if err := r.f.sleep(ctx, r.f.poll); err != nil {
			return err
		}
		if pos.Stamp == "" {
			if err := r.content("modifyTimestamp", func(e *Entry) { pos.Stamp = later(pos.Stamp, e.First("modifyTimestamp")) }); err != nil {
				return err
			}
			r.ev.Changed(r.f.now()) // the first entries of an empty directory
			r.f.setPosition(pos)
			continue
		}
		stamp := pos.Stamp
		if err := r.changedSince("(modifyTimestamp>="+ldapEscape(stamp)+")", "modifyTimestamp", true, func(e *Entry) { stamp = later(stamp, e.First("modifyTimestamp")) }); err != nil {
			return err
		}
		pos.Stamp = stamp
		r.f.setPosition(pos)
	}
}

// later returns the later of two GeneralizedTime values in the same form.
func later(a, b string) string {
	if b > a {
		return b
	}
	return a
}

func ldapEscape(s string) string { return goldap.EscapeFilter(s) }

// content reads every user and group once, learning what syncd reads of
// each; cursor names the attribute the feed moves on, which is read too
// (and given to each) but is no part of a fingerprint.
func (r *feedRun) content(cursor string, each func(*Entry)) error {
	return r.searchBoth("", cursor, func(e *Entry, unfinished error) {
		if each != nil {
			each(e)
		}
		if unfinished != nil {
			r.f.unsure(nil, e, unfinished) // not learned: compared afresh when next seen
			return
		}
		delete(e.Attrs, strings.ToLower(cursor))
		r.f.learn(e)
	})
}

// changedSince reports the users and groups matching since (their cursor
// attribute past the position): those that changed in what syncd reads.
// repeats says that entries met at an earlier poll come back (the cursor
// includes the position): finding one unchanged is then no news.
func (r *feedRun) changedSince(since, cursor string, repeats bool, each func(*Entry)) error {
	var ev Events = r.ev
	if repeats {
		ev = quietIgnored{r.ev}
	}
	return r.searchBoth(since, cursor, func(e *Entry, unfinished error) {
		if each != nil {
			each(e)
		}
		if unfinished != nil {
			r.f.unsure(r.ev, e, unfinished)
			return
		}
		delete(e.Attrs, strings.ToLower(cursor))
		r.f.saw(ev, e)
	})
}

// quietIgnored drops the Ignored of a poll: an entry seen again because
// its cursor value is the position's is not a modification.
type quietIgnored struct{ Events }

func (quietIgnored) Ignored() {}

// searchBoth searches the users and the groups (paged), each with extra
// ANDed to its filter, asking for what syncd reads and the cursor. each
// gets the entries, with the error that kept an entry from being read
// whole (the ranges of a member list), if any.
func (r *feedRun) searchBoth(extra, cursor string, each func(e *Entry, unfinished error)) error {
	u, g := r.f.r.cfg.Users, r.f.r.cfg.Groups
	attrs := append(append([]string{}, r.f.attrs...), cursor)
	for _, b := range []struct {
		base, filter, purpose string
		scope                 int
	}{{u.BaseDN, u.Filter, "users", r.f.r.userScope}, {g.BaseDN, g.Filter, "groups", r.f.r.groupScope}} {
		filter := b.filter
		if extra != "" {
			filter = "(&" + b.filter + extra + ")"
		}
		q := query{base: b.base, scope: b.scope, filter: filter, attrs: attrs, paged: true, purpose: b.purpose + " changed", allowReferrals: true}
		// Whole: a fingerprint of a member list's first range would not
		// change when a member past it does.
		if err := r.s.searchWhole(q, func(e *Entry, unfinished error) error { each(e, unfinished); return nil }); err != nil {
			return err
		}
	}
	return nil
}
