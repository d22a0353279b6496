package ldap

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/syncd/syncd/internal/config"
)

// The persistent search control (draft-ietf-ldapext-psearch), as 389-ds
// and FreeIPA implement it.
const (
	oidPersistentSearch = "2.16.840.1.113730.3.4.3"
	oidEntryChange      = "2.16.840.1.113730.3.4.7"

	psAdd    = 1
	psDelete = 2
	psModify = 4
	psModDN  = 8
)

// psearchSettle is how long a persistent search that has sent nothing
// yet, and no error, counts as established.
const psearchSettle = 2 * time.Second

// persistentSearch follows the server with a persistent search of the
// changes only, each with an Entry Change Notification. It does not ask
// for the entries first: 389-ds drops the changes made while it sends
// them. So what syncd reads of an entry is learned from its first change,
// which is therefore always reported. There is no cookie: a reconnect
// asks for a comparison (Resync).
func (r *feedRun) persistentSearch(ctx context.Context) error {
	base, scope, filter, err := r.f.subtree()
	if err != nil {
		return &errFallBack{feed: config.FeedPersistentSearch, err: err}
	}
	fb, err := compileFilter(filter)
	if err != nil {
		return err
	}
	r.s.logSearch(query{base: base, scope: scope, filter: filter, attrs: r.f.attrs, purpose: "persistent search"})
	var once gosync.Once
	established := func() {
		once.Do(func() {
			r.connected(config.FeedPersistentSearch, false)
			if r.reconnect {
				r.ev.Resync(r.f.now(), "reconnected: a persistent search cannot say what changed while it was down")
			}
		})
	}
	timer := time.AfterFunc(psearchSettle, established)
	defer timer.Stop()
	value := tlv(tagSequence, berInt(tagInteger, psAdd|psDelete|psModify|psModDN), tlv(tagBoolean, []byte{0xff}), tlv(tagBoolean, []byte{0xff}))
	started := false
	_, err = r.s.conn.stream(searchRequest(base, scope, 0, fb, r.f.attrs), control(oidPersistentSearch, true, value), func(m message) error {
		started = true
		if m.tag != appSearchEntry {
			return nil
		}
		timer.Stop()
		established()
		return r.psearchEntry(m)
	})
	switch {
	case refused(err) && !started:
		return &errFallBack{feed: config.FeedPersistentSearch, err: err}
	case err == nil:
		return errors.New("persistent search: the server ended the search")
	}
	return fmt.Errorf("persistent search: %w", err)
}

// psearchEntry handles one change. An entry without its notification
// (a server that sends entries after all) counts as changed.
func (r *feedRun) psearchEntry(m message) error {
	v, ok := m.ctrls[oidEntryChange]
	if !ok {
		r.f.saw(r.ev, m.entry)
		return nil
	}
	kind, prev, err := entryChange(v)
	if err != nil {
		return err
	}
	switch kind {
	case psDelete:
		r.f.gone(r.ev, m.entry.DN)
	case psModDN:
		r.f.gone(r.ev, prev)
		r.f.saw(r.ev, m.entry)
	default:
		r.f.saw(r.ev, m.entry)
	}
	return nil
}

// entryChange decodes an Entry Change Notification: the change type and,
// for a rename, the previous DN.
func entryChange(v []byte) (int64, string, error) {
	r, err := (&berReader{b: v}).sub(tagSequence)
	if err != nil {
		return 0, "", err
	}
	kind, err := r.int(tagEnumerated)
	if err != nil {
		return 0, "", err
	}
	prev, err := r.optBytes(tagOctetString)
	return kind, string(prev), err
}
