package ldap

import (
	"context"
	gosync "sync"

	"go.uber.org/zap"
)

// Reading the groups while the users are read. The two searches do not
// depend on each other until their entries are put together (the Mapper
// resolves members only once both are in), and a directory server
// answers two connections at once, so a read takes about as long as the
// longer of the two searches instead of both one after the other.
//
// The second connection is a convenience, never a condition: if it cannot
// be made (a server limiting connections per client, a server that serves
// one connection at a time), or is not bound yet when the users are read,
// the groups are listed on the first connection afterwards, as they always
// could be. Its errors are the listing's own: a listing that fails on it
// fails the read, as it would have on the first.

// groupsAhead is a group listing under way on a connection of its own.
type groupsAhead struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    gosync.Mutex
	state aheadState

	listing *groupListing // once done, when listed
	err     error         // once done, when the listing failed
}

type aheadState int

const (
	aheadDialing aheadState = iota // connecting and binding
	aheadListing                   // bound: the listing is the read's
	aheadOff                       // no second connection, or given up
)

// listGroupsAhead starts listing the groups on a second connection to the
// server at url, the one the first connection reached.
func (r *Reader) listGroupsAhead(ctx context.Context, url string) *groupsAhead {
	ctx, cancel := context.WithCancel(ctx)
	a := &groupsAhead{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		s, err := r.dial(ctx, url)
		if !a.bound(err) {
			if err != nil && ctx.Err() == nil {
				r.log.Debug("ldap: no second connection for the group search; groups are read after the users", zap.Error(err))
			}
			if s != nil {
				s.close()
			}
			return
		}
		defer s.close()
		a.listing, a.err = r.listGroups(ctx, s)
	}()
	return a
}

// bound moves the listing on once its connection is bound (err == nil),
// unless it was given up meanwhile; it reports whether to list.
func (a *groupsAhead) bound(err error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == aheadDialing && err == nil {
		a.state = aheadListing
	} else {
		a.state = aheadOff
	}
	return a.state == aheadListing
}

// decide settles whether the listing is the read's: a connection still
// being made is given up rather than waited for.
func (a *groupsAhead) decide() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == aheadDialing {
		a.state = aheadOff
	}
	return a.state == aheadListing
}

// wait returns the listing read ahead, or (nil, nil) when there is none
// and the groups are to be listed on the first connection.
func (a *groupsAhead) wait() (*groupListing, error) {
	if !a.decide() {
		a.abandon()
		return nil, nil
	}
	<-a.done
	a.cancel()
	return a.listing, a.err
}

// abandon stops the listing (its connection is closed) and waits for its
// goroutine to end.
func (a *groupsAhead) abandon() {
	a.decide()
	a.cancel()
	<-a.done
}
