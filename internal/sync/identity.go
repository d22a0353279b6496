package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// metaTeamsUsers stores the user count of the last full listing, to price
// the next listing against by-email calls.
const metaTeamsUsers = "teams_users"

// identities is the outcome of matching directory people to Teams users.
type identities struct {
	byPerson map[personKey]int
	email    map[int]string      // Teams id -> the address it was matched by
	failed   map[personKey]error // lookups that failed: their targets get no removals
	method   string              // "cache", "list" or "by-email"
	lookups  int                 // addresses asked one by one
	people   map[int]personKey   // Teams id -> one directory person (explain)
	// ambiguous are the people whose addresses lead to more than one
	// Teams account (two accounts whose addresses differ only in case,
	// say), with those accounts' ids: matching either would be a guess
	// that flips with the listing's order, removing the other. They are
	// matched to neither, are not pending, and neither account is
	// removed from what they feed.
	ambiguous map[personKey][]int
	// seen are the accounts read this run with their (normalised)
	// address: from the users listing, by-email and by-id lookups. listed
	// says a complete listing was read: an id it lacks does not exist.
	seen   map[int]string
	listed bool
	gone   map[int]bool // ids a lookup found not to exist
	// unsure are accounts the plan would remove that could not be looked
	// up (checkStrangers): who they are is unknown, so they are not
	// removed this run, from any target.
	unsure    []int
	unsureErr error
}

// newIdentities returns identities with room for n people: a run matches
// 100,000 at the scale syncd is measured at, and maps grown to that size
// one rehash at a time allocated a tenth of a steady run's memory.
func newIdentities(n int) *identities {
	return &identities{byPerson: make(map[personKey]int, n), email: make(map[int]string, n), failed: map[personKey]error{},
		method: "cache", people: make(map[int]personKey, n), ambiguous: map[personKey][]int{}, seen: map[int]string{}, gone: map[int]bool{}}
}

// resolve matches people to Teams user ids by e-mail, case-insensitively
// over every address, at the lowest call count: cached matches first;
// for the rest, one by-email call per address or one listing of all users
// (100 per call), whichever needs fewer calls.
func (e *Engine) resolve(ctx context.Context, ppl map[personKey]string, dirUsers int) (*identities, error) {
	ids := newIdentities(len(ppl))
	all := make([]string, 0, len(ppl))
	for u := range ppl {
		all = append(all, u.Emails...)
	}
	slices.Sort(all) // once, for both lookups
	now := e.now()
	cached := e.store.UserIDs(all)
	negative := e.store.Pending(all, now)
	if len(negative) > 0 && e.teamsUsersChanged(ctx) {
		negative = map[string]time.Time{} // someone signed in: ask again
	}
	var missing []personKey
	asks := 0
	for u := range ppl {
		k := u
		if ids.fromCache(k, u.Emails, cached) {
			continue
		}
		n := 0
		for _, a := range u.Emails {
			if _, ok := negative[a]; !ok {
				n++
			}
		}
		if n > 0 {
			missing = append(missing, k)
			asks += n
		}
	}
	if len(missing) == 0 {
		return ids, nil
	}
	estimate := e.store.Meta(metaTeamsUsers)
	if estimate == 0 {
		estimate = dirUsers // a first guess: Teams holds about the directory's people
	}
	if pages := (estimate + 99) / 100; pages <= asks {
		ids.method = "list"
		return ids, ids.unknownUnless(e.resolveByListing(ctx, ids, missing, now), missing)
	}
	ids.method = "by-email"
	return ids, e.resolveByEmail(ctx, ids, missing, negative, now)
}

// unknownUnless turns a failed lookup of people into their being unknown
// (DESIGN.md §8 rule 6): a listing that could not be read completely says
// nothing about who has an account, so none of them is pending, and the
// targets they feed get no removals. Only what no retry can mend (a token
// that cannot see e-mails, a cancelled run) stays an error of the run.
func (ids *identities) unknownUnless(err error, people []personKey) error {
	if err == nil || errors.Is(err, ErrNoEmails) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, k := range people {
		if _, ok := ids.byPerson[k]; !ok {
			ids.failed[k] = err
		}
	}
	return nil
}

// teamsUsersChanged tells whether the number of Teams users changed since
// it was last seen: a first sign-in creates a user, so the addresses in
// the negative cache are worth asking again now rather than after
// sync.pending_recheck. One call, made only while someone is pending.
func (e *Engine) teamsUsersChanged(ctx context.Context) bool {
	n, err := e.api.CountUsers(ctx)
	if err != nil {
		e.log.Debug("cannot count Teams users", errField(err))
		return false
	}
	before := e.store.Meta(metaTeamsUsers)
	if n != before {
		_ = e.store.PutMeta(metaTeamsUsers, n)
	}
	return before != 0 && n != before
}

// fromCache matches k by the first of its addresses cached with an id.
// Addresses cached with different ids leave k to be looked up again:
// they cannot both be this person's one account.
func (ids *identities) fromCache(k personKey, emails []string, cached map[string]int) bool {
	id, by := 0, ""
	for _, a := range emails {
		switch c := cached[a]; {
		case c <= 1 || c == id:
		case id == 0:
			id, by = c, a
		default:
			return false
		}
	}
	if id == 0 {
		return false
	}
	ids.set(k, id, by)
	return true
}

// accounts are the Teams accounts a listing shows, by normalised address.
type accounts map[string][]int

func (ac accounts) add(email string, id int) {
	if !slices.Contains(ac[email], id) {
		ac[email] = append(ac[email], id)
	}
}

// match matches k to the one account its addresses lead to; none leaves
// k unmatched and false, more than one makes k ambiguous.
func (ids *identities) match(k personKey, ac accounts) bool {
	var found []int
	by := ""
	for _, a := range k.Emails {
		for _, id := range ac[a] {
			if !slices.Contains(found, id) {
				found = append(found, id)
				by = a
			}
		}
	}
	switch len(found) {
	case 0:
		return false
	case 1:
		ids.set(k, found[0], by)
	default:
		ids.ambiguous[k] = idset.Sort(found)
	}
	return true
}

// matchErrors say who could not be matched for having several Teams
// accounts, and which accounts were not removed for not being known.
func (ids *identities) matchErrors() []error {
	var out []error
	if n := len(ids.unsure); n > 0 {
		msg := "Teams user %s could not be looked up before removing it (%w): it is not removed from anything this run"
		if n > 1 {
			msg = "Teams users %s could not be looked up before removing them (%w): they are not removed from anything this run"
		}
		out = append(out, fmt.Errorf(msg, idset.Join(ids.unsure), ids.unsureErr))
	}
	for k, found := range ids.ambiguous {
		what := "the address matches"
		if len(k.Emails) > 1 {
			what = "the addresses match"
		}
		out = append(out, fmt.Errorf("%s (%s): %s %d Teams users (ids %s); matched to none, "+
			"and none is removed because of it: give all but one of them another e-mail address",
			k.Name, strings.Join(k.Emails, ", "), what, len(found), idset.Join(found)))
	}
	slices.SortFunc(out, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return out
}

func (ids *identities) set(k personKey, id int, email string) {
	ids.byPerson[k] = id
	ids.email[id] = email
	ids.people[id] = k
}

// unset forgets k's match, and k's being ambiguous.
func (ids *identities) unset(k personKey) {
	delete(ids.ambiguous, k)
	id, ok := ids.byPerson[k]
	if !ok {
		return
	}
	delete(ids.byPerson, k)
	for other, oid := range ids.byPerson {
		if oid == id { // the same person read from another source
			ids.people[id] = other
			return
		}
	}
	delete(ids.email, id)
	delete(ids.people, id)
}

// ErrNoEmails means the token cannot see e-mail addresses, so no one can
// be matched: API v3 shows them to admin tokens only.
var ErrNoEmails = errors.New("the Teams token cannot see e-mail addresses: matching people needs an admin token")

func (e *Engine) resolveByListing(ctx context.Context, ids *identities, missing []personKey, now time.Time) error {
	users, err := e.api.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	return e.matchListing(ids, users, missing, now)
}

// matchListing matches the missing people to the accounts of a complete
// listing, and caches every account it shows.
func (e *Engine) matchListing(ids *identities, users []teams.Account, missing []personKey, now time.Time) error {
	ids.listed = true
	found := make(map[string]state.User, len(users))
	byEmail := make(accounts, len(users))
	for _, u := range users {
		a := directory.NormalizeEmail(u.Email)
		ids.seen[u.ID] = a
		if u.ID > 1 && a != "" {
			found[a] = state.User{ID: u.ID, Name: u.Name, Seen: now}
			byEmail.add(a, u.ID)
		}
	}
	if len(found) == 0 && len(users) > 1 {
		return ErrNoEmails
	}
	// An address two accounts share is not cached: a cached id would be
	// trusted next time without the listing that shows the other.
	var shared []string
	for a, owners := range byEmail {
		if len(owners) > 1 {
			shared = append(shared, a)
		}
	}
	for _, a := range shared {
		delete(found, a)
	}
	if err := e.store.PutUsers(found); err != nil {
		e.log.Warn("cannot cache user ids", errField(err))
	}
	if len(shared) > 0 {
		_ = e.store.ForgetUsers(shared)
	}
	_ = e.store.PutMeta(metaTeamsUsers, len(users))
	var none []string
	for _, k := range missing {
		if !ids.match(k, byEmail) {
			none = append(none, k.Emails...)
		}
	}
	return e.rememberPending(none, now)
}

func (e *Engine) resolveByEmail(ctx context.Context, ids *identities, missing []personKey, negative map[string]time.Time, now time.Time) error {
	found := map[string]state.User{}
	var none []string
	defer func() {
		if err := e.store.PutUsers(found); err != nil {
			e.log.Warn("cannot cache user ids", errField(err))
		}
		_ = e.rememberPending(none, now)
	}()
	for i, k := range missing {
		var notFound []string
		matched := false
	addrs:
		for _, a := range k.Emails {
			if _, ok := negative[a]; ok {
				continue
			}
			ids.lookups++
			u, err := e.api.UserByEmail(ctx, a)
			switch {
			case err == nil && u.ID > 1:
				found[a] = state.User{ID: u.ID, Name: u.Name, Seen: now}
				ids.set(k, u.ID, a)
				ids.seen[u.ID] = a
				matched = true
				break addrs
			case err == nil || errors.Is(err, teams.ErrNotFound):
				notFound = append(notFound, a)
			case errors.Is(err, teams.ErrForbidden):
				return fmt.Errorf("%w (%v)", ErrNoEmails, err)
			default:
				// After the client's own retries: the next lookups would
				// most likely fail the same way, each after its retries.
				return ids.unknownUnless(fmt.Errorf("look up %s: %w", a, err), missing[i:])
			}
		}
		if !matched {
			none = append(none, notFound...)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// rememberPending keeps addresses without a Teams account in the negative
// cache for sync.pending_recheck (0: not at all, they are asked every run).
func (e *Engine) rememberPending(emails []string, now time.Time) error {
	recheck := e.cfg.Sync.PendingRecheck.Std()
	if len(emails) == 0 || recheck <= 0 {
		return nil
	}
	if err := e.store.PutPending(emails, now.Add(recheck)); err != nil {
		e.log.Warn("cannot remember pending addresses", errField(err))
	}
	return nil
}

// refresh looks the given Teams ids up again by e-mail after a write
// answered 404 (a cached id may be stale). It returns old id -> new id;
// 0 means the person has no Teams account any more.
func (e *Engine) refresh(ctx context.Context, emailOf func(int) string, stale []int) map[int]int {
	out := map[int]int{}
	for _, id := range stale {
		a := emailOf(id)
		if a == "" {
			continue
		}
		_ = e.store.ForgetUsers([]string{a})
		u, err := e.api.UserByEmail(ctx, a)
		switch {
		case err == nil && u.ID > 1:
			out[id] = u.ID
			_ = e.store.PutUsers(map[string]state.User{a: {ID: u.ID, Name: u.Name, Seen: e.now()}})
		case errors.Is(err, teams.ErrNotFound):
			out[id] = 0
		default:
			e.log.Warn("cannot look a user up again", zap.String("email", a), errField(err))
		}
	}
	return out
}

func errField(err error) zap.Field { return zap.Error(err) }

// recheckPending guards the negative cache. A person remembered as having
// no Teams account may have signed in since and been added by hand; the
// plan would then remove someone it cannot name. So before a run removes
// anyone it did not match this run from a target, the target's pending
// people are looked up again (by e-mail, or one listing when cheaper). It
// returns true when someone was found or could not be looked up, and the
// plan must be made again.
func (e *Engine) recheckPending(ctx context.Context, ids *identities, p *plan.Plan, dirUsers int, lists ...[]*target) bool {
	removing := map[string]bool{}
	for _, g := range p.Groups {
		if ids.hasStranger(g.Remove, g.Held) {
			removing[strings.ToLower(g.Name)] = true
		}
	}
	for _, t := range p.Tags {
		if ids.hasStranger(t.RemoveUsers, t.HeldUsers) {
			removing["tag:"+strings.ToLower(t.Tag)] = true
		}
	}
	suspects, asks := ids.pendingOf(removing, lists...)
	if len(suspects) == 0 {
		return false
	}
	before, failedBefore := len(ids.byPerson), len(ids.failed)
	now := e.now()
	estimate := max(e.store.Meta(metaTeamsUsers), dirUsers)
	var err error
	if (estimate+99)/100 <= asks {
		err = e.resolveByListing(ctx, ids, suspects, now)
	} else {
		err = e.resolveByEmail(ctx, ids, suspects, map[string]time.Time{}, now)
	}
	if err != nil {
		// They may have signed in and been added by hand: whoever the plan
		// would remove could be one of them.
		e.log.Warn("cannot look pending people up again", errField(err))
		_ = ids.unknownUnless(err, suspects)
	}
	return len(ids.byPerson) > before || len(ids.failed) > failedBefore
}

// hasStranger tells whether a removal names someone not matched this run.
func (ids *identities) hasStranger(lists ...[]int) bool {
	for _, l := range lists {
		for _, id := range l {
			if _, ok := ids.email[id]; !ok {
				return true
			}
		}
	}
	return false
}

// pendingOf returns the unmatched people of the given targets and how
// many addresses they have.
func (ids *identities) pendingOf(keys map[string]bool, lists ...[]*target) ([]personKey, int) {
	if len(keys) == 0 {
		return nil, 0
	}
	seen := map[personKey]bool{}
	var out []personKey
	asks := 0
	for _, list := range lists {
		for _, t := range list {
			k := strings.ToLower(t.name)
			if t.tag {
				k = "tag:" + k
			}
			if !keys[k] {
				continue
			}
			for _, f := range t.feeds {
				for _, pk := range f.users {
					if _, ok := ids.byPerson[pk]; ok || seen[pk] || ids.failed[pk] != nil || ids.ambiguous[pk] != nil || len(pk.Emails) == 0 {
						continue
					}
					seen[pk] = true
					out = append(out, pk)
					asks += len(pk.Emails)
				}
			}
		}
	}
	return out, asks
}
