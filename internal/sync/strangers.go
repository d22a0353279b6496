package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// Strangers are the Teams accounts a plan removes (or holds back from
// removing) that no directory person was matched to this run. Most are
// people who left the directory group; but a warm cache matches people
// to the ids it remembers, and an account deleted and created again has a
// new id under the same address while the user count stays the same. The
// cached id is then dead, and the live account is a stranger that the
// plan removes, and writes of the dead id fail every run after. So before
// a stranger is removed, checkStrangers finds out whose account it is:
// the address is known when this run read it (a users listing, a lookup)
// or the cache holds it under an address no directory person has; else
// one GET /users/{id} per stranger, or one users listing when that costs
// fewer calls. A stranger whose address is a directory person's makes
// that person's match be checked again (their cached id read by id):
// the person is matched to the one live account with their address, or
// is ambiguous when there are several. A run whose plan removes nobody
// makes no call here.

// checkStrangers identifies the strangers of plan p, among the people of
// the targets, and matches again the people whose address one of them
// has. It returns true when who is who changed and p must be made again.
func (e *Engine) checkStrangers(ctx context.Context, ids *identities, p *plan.Plan, dirUsers int, lists ...[]*target) bool {
	strangers := ids.strangers(p)
	if len(strangers) == 0 {
		return false
	}
	owners := addressOwners(lists...)
	ask := e.unknownStrangers(ids, strangers, owners)
	changed := false
	if len(ask) > 0 {
		estimate := max(e.store.Meta(metaTeamsUsers), dirUsers)
		if (estimate+99)/100 <= len(ask) && !ids.listed {
			return e.relist(ctx, ids, ask, lists...)
		}
		changed = e.lookUpStrangers(ctx, ids, ask, owners)
	}
	claims := map[personKey][]int{}
	for _, id := range strangers {
		a := ids.seen[id]
		if a == "" {
			continue
		}
		for _, k := range owners[a] {
			if !slices.Contains(claims[k], id) {
				claims[k] = append(claims[k], id)
			}
		}
	}
	for k, found := range claims {
		if ids.failed[k] == nil {
			e.rematch(ctx, ids, k, found)
			changed = true
		}
	}
	return changed
}

// strangers are the user ids p removes or holds that no one was matched
// to this run, sorted.
func (ids *identities) strangers(p *plan.Plan) []int {
	var out []int
	add := func(lists ...[]int) {
		for _, l := range lists {
			for _, id := range l {
				if _, matched := ids.email[id]; id > 1 && !matched && !ids.gone[id] {
					out = append(out, id)
				}
			}
		}
	}
	for i := range p.Groups {
		add(p.Groups[i].Remove, p.Groups[i].Held)
	}
	for i := range p.Tags {
		add(p.Tags[i].RemoveUsers, p.Tags[i].HeldUsers)
	}
	return idset.Sort(out)
}

// addressOwners are the people of the targets by address.
func addressOwners(lists ...[]*target) map[string][]personKey {
	out := map[string][]personKey{}
	for _, list := range lists {
		for _, t := range list {
			for _, f := range t.feeds {
				for _, k := range f.users {
					for _, a := range k.Emails {
						if !slices.Contains(out[a], k) {
							out[a] = append(out[a], k)
						}
					}
				}
			}
		}
	}
	return out
}

// unknownStrangers are the strangers whose address this run has not read
// and the cache does not hold under addresses no directory person has.
func (e *Engine) unknownStrangers(ids *identities, strangers []int, owners map[string][]personKey) []int {
	var rest []int
	for _, id := range strangers {
		if _, ok := ids.seen[id]; !ok {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 || ids.listed {
		return nil // a complete listing shows every account: the rest do not exist
	}
	cachedAs := map[int][]string{}
	for a, u := range e.store.AllUsers() {
		if slices.Contains(rest, u.ID) {
			cachedAs[u.ID] = append(cachedAs[u.ID], a)
		}
	}
	var out []int
	for _, id := range rest {
		known := len(cachedAs[id]) > 0
		for _, a := range cachedAs[id] {
			if owners[a] != nil {
				known = false // the cache contradicts itself: ask
			}
		}
		if !known {
			out = append(out, id)
		}
	}
	return out
}

// lookUpStrangers reads the accounts of ids one by one. After a lookup
// fails (after the client's retries) the others are not asked: they
// would most likely fail the same way. Those not read are unsure.
func (e *Engine) lookUpStrangers(ctx context.Context, ids *identities, ask []int, owners map[string][]personKey) bool {
	found := map[string]state.User{}
	for i, id := range ask {
		u, err := e.api.GetUser(ctx, id)
		switch {
		case err == nil:
			a := ""
			if u.Email != nil {
				a = directory.NormalizeEmail(*u.Email)
			}
			ids.seen[id] = a
			if a != "" {
				found[a] = state.User{ID: id, Name: u.Name, Seen: e.now()}
			}
		case errors.Is(err, teams.ErrNotFound):
			ids.gone[id] = true
		default:
			ids.unsure = append(ids.unsure, ask[i:]...)
			ids.unsureErr = err
			e.log.Warn("cannot look up the Teams users a removal names", zap.Ints("ids", ask[i:]), errField(err))
			e.cacheStrangers(found, owners)
			return true
		}
	}
	e.cacheStrangers(found, owners)
	return false
}

// cacheStrangers caches the addresses of accounts read by id, but for
// those of people (owners): rematch caches what it decides for them.
func (e *Engine) cacheStrangers(found map[string]state.User, owners map[string][]personKey) {
	for a := range found {
		if owners[a] != nil {
			delete(found, a)
		}
	}
	if err := e.store.PutUsers(found); err != nil {
		e.log.Warn("cannot cache user ids", errField(err))
	}
}

// relist reads every Teams account in one listing and matches every
// person of the targets again from it: cheaper than looking up many
// strangers one by one, and it checks the whole cache at once.
func (e *Engine) relist(ctx context.Context, ids *identities, ask []int, lists ...[]*target) bool {
	users, err := e.api.ListAccounts(ctx)
	var all []personKey
	fresh := newIdentities(0)
	if err == nil {
		for k := range people(lists...) {
			if ids.failed[k] == nil {
				all = append(all, k)
			}
		}
		err = e.matchListing(fresh, users, all, e.now())
	}
	if err != nil {
		// The matches made so far stand; the strangers are not removed.
		ids.unsure, ids.unsureErr = append(ids.unsure, ask...), fmt.Errorf("list users: %w", err)
		e.log.Warn("cannot list the Teams users before removing some", errField(err))
		return true
	}
	ids.byPerson, ids.email, ids.people, ids.ambiguous = fresh.byPerson, fresh.email, fresh.people, fresh.ambiguous
	ids.seen, ids.listed = fresh.seen, true
	return true
}

// rematch matches person k again, given the strangers that have one of
// k's addresses: to the one live account among them and k's current
// match, or to none when there are several (ambiguous). k's current
// match is checked to still exist with k's address unless this run read
// it; when that check fails, k is unknown (no removals in what k feeds).
func (e *Engine) rematch(ctx context.Context, ids *identities, k personKey, strangers []int) {
	cands := slices.Clone(strangers)
	cands = append(cands, ids.ambiguous[k]...)
	if id, ok := ids.byPerson[k]; ok {
		owns, err := e.stillOwns(ctx, ids, id, k)
		if err != nil {
			ids.unset(k)
			ids.failed[k] = fmt.Errorf("look up Teams user %d: %w", id, err)
			return
		}
		if owns {
			cands = append(cands, id)
		}
	}
	cands = idset.Sort(cands)
	ids.unset(k)
	e.log.Info("a Teams account the plan would remove has the address of a directory person: matching them again",
		zap.Strings("emails", k.Emails), zap.Ints("accounts", cands))
	if len(cands) > 1 {
		ids.ambiguous[k] = cands
		if err := e.store.ForgetUsers(k.Emails); err != nil {
			e.log.Warn("cannot forget cached user ids", errField(err))
		}
		return
	}
	a := ids.seen[cands[0]]
	ids.set(k, cands[0], a)
	if err := e.store.ForgetUsers(k.Emails); err != nil {
		e.log.Warn("cannot forget cached user ids", errField(err))
	}
	if err := e.store.PutUsers(map[string]state.User{a: {ID: cands[0], Seen: e.now()}}); err != nil {
		e.log.Warn("cannot cache user ids", errField(err))
	}
}

// stillOwns tells whether Teams account id exists and has one of k's
// addresses: from what this run read, else by reading it (one call).
func (e *Engine) stillOwns(ctx context.Context, ids *identities, id int, k personKey) (bool, error) {
	a, ok := ids.seen[id]
	switch {
	case ok:
	case ids.gone[id] || ids.listed:
		return false, nil
	default:
		u, err := e.api.GetUser(ctx, id)
		if errors.Is(err, teams.ErrNotFound) {
			ids.gone[id] = true
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if u.Email != nil {
			a = directory.NormalizeEmail(*u.Email)
		}
		ids.seen[id] = a
	}
	return a != "" && slices.Contains(k.Emails, a), nil
}
