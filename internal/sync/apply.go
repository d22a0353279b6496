package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

// The single apply point: every write syncd makes goes through here, and
// only when the engine was built with Apply. Each group or tag costs the
// fewest calls the API allows for its change set.

// applier executes one plan.
type applier struct {
	e       *Engine
	users   map[int]report.User
	created map[string]int // lower-case group name -> id of a group created this run
	ledger  []state.LedgerChange
}

// applyGroup writes one group's changes and returns its id.
func (a *applier) applyGroup(ctx context.Context, g *GroupPlan) error {
	if g.Create {
		req := teams.UserGroupRequest{Name: g.Name, Description: g.Description, UserIDs: g.Add}
		var created *teams.UserGroup
		err := a.withFreshIDs(ctx, &req.UserIDs, func() (err error) {
			created, err = a.e.api.CreateUserGroup(ctx, req)
			return err
		})
		if err != nil {
			return err
		}
		a.created[strings.ToLower(g.Name)] = created.ID
		g.ID = created.ID
		a.own(LedgerGroup, created.ID, req.UserIDs, nil)
		return nil
	}
	add := slices.Clone(g.Add)
	var err error
	switch {
	case g.UpdateDescription || incremental(len(add), len(g.Remove)) > 1:
		req := teams.UserGroupRequest{Name: g.Name, Description: g.Description}
		err = a.withFreshIDs(ctx, &add, func() error {
			req.UserIDs = union(minus(g.Current, g.Remove), add)
			_, err := a.e.api.ReplaceUserGroup(ctx, g.ID, req)
			return err
		})
	case len(add) > 0:
		err = a.withFreshIDs(ctx, &add, func() error {
			_, err := a.e.api.AddUserGroupMembers(ctx, g.ID, add)
			return err
		})
	case len(g.Remove) == 1:
		err = a.e.api.RemoveUserGroupMember(ctx, g.ID, g.Remove[0])
		if errors.Is(err, teams.ErrNotFound) {
			err = nil // already gone: what we wanted
		}
	}
	if err == nil {
		a.own(LedgerGroup, g.ID, add, g.Remove)
	}
	return err
}

// incremental counts the calls of the add/remove endpoints: one POST for
// all additions, one DELETE per removal.
func incremental(adds, removes int) int {
	n := removes
	if adds > 0 {
		n++
	}
	return n
}

// applyTag writes one tag's SME changes. An SME group whose creation
// failed this run is left out; the tag's other changes still go through.
func (a *applier) applyTag(ctx context.Context, t *TagPlan) error {
	addGroups, missing := a.groupIDs(t.AddGroups)
	var err error
	rmGroups := refIDs(t.RemoveGroups)
	addUsers := slices.Clone(t.AddUsers)
	calls := incremental(len(addUsers), len(t.RemoveUsers)) + incremental(len(addGroups), len(rmGroups))
	switch {
	case calls > 1:
		err = a.withFreshIDs(ctx, &addUsers, func() error {
			req := teams.SMERequest{
				UserIDs:      union(minus(t.CurrentUsers, t.RemoveUsers), addUsers),
				UserGroupIDs: union(minus(t.CurrentGroups, rmGroups), addGroups),
			}
			_, err := a.e.api.ReplaceSMEs(ctx, t.ID, req)
			return err
		})
	case len(addUsers) > 0:
		err = a.withFreshIDs(ctx, &addUsers, func() error {
			_, err := a.e.api.AddSMEUsers(ctx, t.ID, addUsers)
			return err
		})
	case len(addGroups) > 0:
		_, err = a.e.api.AddSMEGroups(ctx, t.ID, addGroups)
	case len(t.RemoveUsers) == 1:
		err = ignoreNotFound(a.e.api.RemoveSMEUser(ctx, t.ID, t.RemoveUsers[0]))
	case len(rmGroups) == 1:
		err = ignoreNotFound(a.e.api.RemoveSMEGroup(ctx, t.ID, rmGroups[0]))
	}
	if err != nil {
		return err
	}
	a.own(LedgerSMEUsers, t.ID, addUsers, t.RemoveUsers)
	a.own(LedgerSMEGroups, t.ID, addGroups, rmGroups)
	if missing != nil {
		return &partialError{kind: report.KindAddSMEGroups, err: missing}
	}
	return nil
}

// partialError fails the changes of one kind of a step; the step's other
// changes were applied.
type partialError struct {
	kind string
	err  error
}

func (p *partialError) Error() string { return p.err.Error() }
func (p *partialError) Unwrap() error { return p.err }

// changeError is the outcome of one change of a step that returned err.
func changeError(err error, kind string) error {
	var p *partialError
	if errors.As(err, &p) && p.kind != kind {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, teams.ErrNotFound) {
		return nil
	}
	return err
}

// groupIDs resolves SME group refs, including groups created this run;
// the error names those that were not created.
func (a *applier) groupIDs(refs []GroupRef) ([]int, error) {
	var ids []int
	var missing []string
	for _, r := range refs {
		id := r.ID
		if id == 0 {
			id = a.created[strings.ToLower(r.Name)]
		}
		if id == 0 {
			missing = append(missing, fmt.Sprintf("%q", r.Name))
			continue
		}
		ids = append(ids, id)
	}
	if len(missing) > 0 {
		return sortUnique(ids), fmt.Errorf("user group %s was not created, so it cannot be made an SME group yet", strings.Join(missing, ", "))
	}
	return sortUnique(ids), nil
}

func refIDs(refs []GroupRef) []int {
	ids := make([]int, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}

// withFreshIDs runs write; when it answers 404 (a cached user id may be
// stale) it looks the ids up again by e-mail and retries once with the
// corrected list. People without an account any more are dropped.
func (a *applier) withFreshIDs(ctx context.Context, ids *[]int, write func() error) error {
	err := write()
	if !errors.Is(err, teams.ErrNotFound) || len(*ids) == 0 {
		return err
	}
	fresh := a.e.refresh(ctx, a.emailOf, *ids)
	if len(fresh) == 0 {
		return err
	}
	var out []int
	for _, id := range *ids {
		n, ok := fresh[id]
		switch {
		case !ok:
			out = append(out, id)
		case n > 1:
			out = append(out, n)
			u := a.users[id]
			u.ID = n
			a.users[n] = u
		}
	}
	*ids = sortUnique(out)
	return write()
}

func (a *applier) emailOf(id int) string { return a.users[id].Email }

// own records what a successful write did in the ledger.
func (a *applier) own(kind string, id int, added, removed []int) {
	if len(added)+len(removed) == 0 {
		return
	}
	a.ledger = append(a.ledger, state.LedgerChange{Key: LedgerKey(kind, id), Added: slices.Clone(added), Removed: slices.Clone(removed)})
}
