package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
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
	rec     *recorder
	// listed is set once the groups were listed again before the first
	// create; noCreates is why no group may be created this run.
	listed    bool
	noCreates error
	// renamed maps a stale user id to the live one a write was sent with
	// instead (withFreshIDs), for the report to name whom it added.
	renamed map[int]int
}

// applyGroup writes one group's changes.
func (a *applier) applyGroup(ctx context.Context, g *plan.GroupPlan) error {
	if g.Create {
		return a.createGroup(ctx, g)
	}
	add := slices.Clone(g.Add)
	path := fmt.Sprintf("/user-groups/%d", g.ID)
	if g.UpdateDescription || incremental(len(add), len(g.Remove)) > replaceCalls {
		return a.replaceGroup(ctx, g, add, path)
	}
	var ops []kindOp
	if len(add) > 0 {
		ops = append(ops, kindOp{report.KindAddMembers, func() error {
			return a.withFreshIDs(ctx, &add, func() error {
				return a.rec.send(ctx, a.groupWrite(g, "POST "+path+"/members", add, nil), func(ctx context.Context) (int, error) {
					after, err := a.e.write.AddUserGroupMembers(ctx, g.ID, add)
					if err == nil && after != nil {
						err = teams.CheckAdded("POST", "/user-groups/{userGroupId}/members", add, after.UserIDs)
					}
					return 0, a.confirmGroup(ctx, g.ID, err, func(got *teams.UserGroup) bool {
						return len(idset.Minus(idset.Sort(slices.Clone(add)), memberIDs(got.Users))) == 0
					})
				})
			})
		}})
	}
	for _, id := range g.Remove {
		ops = append(ops, kindOp{report.KindRemoveMembers, func() error {
			w := a.groupWrite(g, fmt.Sprintf("DELETE %s/members/%d", path, id), nil, []int{id})
			return a.rec.send(ctx, w, func(ctx context.Context) (int, error) {
				// Already gone (404) is what we wanted.
				err := ignoreNotFound(a.e.write.RemoveUserGroupMember(ctx, g.ID, id))
				return 0, a.confirmGroup(ctx, g.ID, err, func(got *teams.UserGroup) bool {
					return !slices.Contains(memberIDs(got.Users), id)
				})
			})
		}})
	}
	return sendEach(ctx, ops)
}

// replaceCalls is what a full replace (PUT) costs: the read of the
// object's members just before it, and the PUT. The add and remove
// endpoints are used unless they cost more.
const replaceCalls = 2

// replaceGroup sends the group's whole state, as PUT replaces it: its
// members are read again just before (DESIGN.md §8 rule 4 and REFERENCE
// §5.2), since the listing the plan came from may be minutes old and a PUT
// built from it would drop whoever was added in Teams meanwhile, with no
// report, no audit line and no budget, even in add-only mode. A member
// added since stays; one removed since is not put back.
func (a *applier) replaceGroup(ctx context.Context, g *plan.GroupPlan, add []int, path string) error {
	now, err := a.e.api.GetUserGroup(ctx, g.ID)
	if err != nil {
		return fmt.Errorf("not replaced: reading its members just before failed: %w", err)
	}
	if !strings.EqualFold(now.Name, g.Name) {
		// A PUT carries the name: sent now, it would rename the group back,
		// beside any group of that name made meanwhile.
		return fmt.Errorf("not replaced: the group was renamed in Teams during the run (it is %q now); the next run looks %q up by name", now.Name, g.Name)
	}
	current := memberIDs(now.Users)
	req := teams.UserGroupRequest{Name: g.Name, Description: g.Description}
	return a.withFreshIDs(ctx, &add, func() error {
		req.UserIDs = idset.Union(idset.Minus(current, g.Remove), add)
		w := a.groupWrite(g, "PUT "+path, add, g.Remove)
		return a.rec.send(ctx, w, func(ctx context.Context) (int, error) {
			_, err := a.e.write.ReplaceUserGroup(ctx, g.ID, req)
			return 0, a.confirmGroup(ctx, g.ID, err, func(got *teams.UserGroup) bool {
				return got.Description == req.Description && slices.Equal(memberIDs(got.Users), idset.Sort(slices.Clone(req.UserIDs)))
			})
		})
	})
}

// createGroup creates a group with its members. Until the answer gives
// its id, the members are owned by the group's name (state.Create).
func (a *applier) createGroup(ctx context.Context, g *plan.GroupPlan) error {
	if err := a.freshEvidence(ctx); err != nil {
		return err
	}
	req := teams.UserGroupRequest{Name: g.Name, Description: g.Description, UserIDs: g.Add}
	var created *teams.Created
	err := a.withFreshIDs(ctx, &req.UserIDs, func() error {
		w := write{call: "POST /user-groups", lines: []state.AuditLine{a.line(report.KindCreateGroup, g.Name, "", req.UserIDs, nil)},
			create: &state.Create{Name: g.Name, UserIDs: slices.Clone(req.UserIDs)}}
		return a.rec.send(ctx, w, func(ctx context.Context) (int, error) {
			var err error
			if created, err = a.e.write.CreateUserGroup(ctx, req); err != nil {
				return 0, err
			}
			return created.ID, nil
		})
	})
	if err != nil {
		return err
	}
	a.created[strings.ToLower(g.Name)] = created.ID
	g.ID = created.ID
	return nil
}

// freshEvidence lists the user groups again just before the first create
// of the run (DESIGN.md §8 rule 7): no API deletes a group, so a create is
// sent only when a complete listing taken now shows no group of its name.
// The client refuses a create whose name that listing holds, in any case
// (teams.ErrGroupExists); a listing that fails or is incomplete leaves no
// evidence at all, and no group is created this run.
func (a *applier) freshEvidence(ctx context.Context) error {
	if !a.listed {
		a.listed = true
		if _, err := a.e.api.ListRosters(ctx); err != nil {
			a.noCreates = fmt.Errorf("not created: listing the user groups again before the first create failed, "+
				"so nothing shows that no group of that name exists now: %w", err)
		}
	}
	return a.noCreates
}

// groupWrite describes one write to an existing group: its audit lines
// and what it does to the ledger.
func (a *applier) groupWrite(g *plan.GroupPlan, call string, add, remove []int) write {
	w := write{call: call, ledger: []state.LedgerChange{{Key: plan.LedgerKey(plan.LedgerGroup, g.ID), Added: slices.Clone(add), Removed: slices.Clone(remove)}}}
	if g.UpdateDescription && strings.HasPrefix(call, "PUT ") {
		w.lines = append(w.lines, a.line(report.KindUpdateGroup, g.Name, "", nil, nil))
	}
	if len(add) > 0 {
		w.lines = append(w.lines, a.line(report.KindAddMembers, g.Name, "", add, nil))
	}
	if len(remove) > 0 {
		l := a.line(report.KindRemoveMembers, g.Name, "", remove, nil)
		l.Approval = g.Approved
		w.lines = append(w.lines, l)
	}
	return w
}

// line is one audit line of a write (time, run and result are the store's).
func (a *applier) line(kind, group, tag string, users []int, groups []string) state.AuditLine {
	l := state.AuditLine{Kind: kind, Group: group, Tag: tag, Users: []state.AuditUser{}, Groups: groups}
	if !a.e.store.Persistent() {
		// No audit log keeps the line's people: a cold run names a million.
		return l
	}
	l.Users = make([]state.AuditUser, 0, len(users))
	for _, id := range users {
		l.Users = append(l.Users, state.AuditUser{ID: id, Email: a.users[id].Email})
	}
	if l.Groups == nil {
		l.Groups = []string{}
	}
	return l
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
func (a *applier) applyTag(ctx context.Context, t *plan.TagPlan) error {
	addGroups, addNames, missing := a.groupIDs(t.AddGroups)
	rmGroups := refIDs(t.RemoveGroups)
	addUsers := slices.Clone(t.AddUsers)
	path := fmt.Sprintf("/tags/%d/subject-matter-experts", t.ID)
	tw := tagWrite{a: a, t: t}
	var err error
	if incremental(len(addUsers), len(t.RemoveUsers))+incremental(len(addGroups), len(rmGroups)) > replaceCalls {
		err = tw.replace(ctx, addUsers, addGroups, addNames, rmGroups, path)
	} else {
		err = sendEach(ctx, tw.ops(ctx, addUsers, addGroups, addNames, rmGroups, path))
	}
	if missing == nil {
		return err
	}
	var kinds kindErrors
	switch {
	case err == nil:
		return kindErrors{report.KindAddSMEGroups: missing}
	case errors.As(err, &kinds) && kinds[report.KindAddSMEGroups] == nil:
		kinds[report.KindAddSMEGroups] = missing
		return kinds
	}
	return err
}

// ops are the tag's writes through the add and remove endpoints.
func (tw tagWrite) ops(ctx context.Context, addUsers, addGroups []int, addNames []string, rmGroups []int, path string) []kindOp {
	a, t := tw.a, tw.t
	var ops []kindOp
	if len(addUsers) > 0 {
		ops = append(ops, kindOp{report.KindAddSMEUsers, func() error {
			return a.withFreshIDs(ctx, &addUsers, func() error {
				return a.rec.send(ctx, tw.write("POST "+path+"/users", addUsers, nil, nil, nil, nil), func(ctx context.Context) (int, error) {
					after, err := a.e.write.AddSMEUsers(ctx, t.ID, addUsers)
					if err == nil && after != nil {
						var listed []int // nil: the answer had no list
						if after.Users.IDs != nil {
							listed = smeUserIDs(after)
						}
						err = teams.CheckAdded("POST", "/tags/{tagId}/subject-matter-experts/users", addUsers, listed)
					}
					return 0, a.confirmSMEs(ctx, t.ID, err, func(users, _ []int) bool {
						return len(idset.Minus(idset.Sort(slices.Clone(addUsers)), users)) == 0
					})
				})
			})
		}})
	}
	if len(addGroups) > 0 {
		ops = append(ops, kindOp{report.KindAddSMEGroups, func() error {
			return a.rec.send(ctx, tw.write("POST "+path+"/user-groups", nil, nil, addGroups, addNames, nil), func(ctx context.Context) (int, error) {
				_, err := a.e.write.AddSMEGroups(ctx, t.ID, addGroups)
				return 0, a.confirmSMEs(ctx, t.ID, err, func(_, groups []int) bool {
					return len(idset.Minus(addGroups, groups)) == 0
				})
			})
		}})
	}
	for _, id := range t.RemoveUsers {
		ops = append(ops, kindOp{report.KindRemoveSMEUsers, func() error {
			return a.rec.send(ctx, tw.write(fmt.Sprintf("DELETE %s/users/%d", path, id), nil, []int{id}, nil, nil, nil), func(ctx context.Context) (int, error) {
				err := ignoreNotFound(a.e.write.RemoveSMEUser(ctx, t.ID, id))
				return 0, a.confirmSMEs(ctx, t.ID, err, func(users, _ []int) bool { return !slices.Contains(users, id) })
			})
		}})
	}
	for _, id := range rmGroups {
		ops = append(ops, kindOp{report.KindRemoveSMEGroups, func() error {
			return a.rec.send(ctx, tw.write(fmt.Sprintf("DELETE %s/user-groups/%d", path, id), nil, nil, nil, nil, []int{id}), func(ctx context.Context) (int, error) {
				err := ignoreNotFound(a.e.write.RemoveSMEGroup(ctx, t.ID, id))
				return 0, a.confirmSMEs(ctx, t.ID, err, func(_, groups []int) bool { return !slices.Contains(groups, id) })
			})
		}})
	}
	return ops
}

// replace sends the tag's whole SME lists (PUT replaces both), built from
// a read just before, as replaceGroup does and for the same reason.
func (tw tagWrite) replace(ctx context.Context, addUsers, addGroups []int, addNames []string, rmGroups []int, path string) error {
	a, t := tw.a, tw.t
	// Read with the tag's name: a tag renamed since the run's read is
	// not the configured one any more, and is left alone.
	now, _, err := a.e.tagSMEs(ctx, t.Tag, t.ID)
	if err != nil {
		return fmt.Errorf("not replaced: reading its SMEs just before failed: %w", err)
	}
	users, groups := smeUserIDs(now), smeGroupIDs(now)
	return a.withFreshIDs(ctx, &addUsers, func() error {
		req := teams.SMERequest{
			UserIDs:      idset.Union(idset.Minus(users, t.RemoveUsers), addUsers),
			UserGroupIDs: idset.Union(idset.Minus(groups, rmGroups), addGroups),
		}
		w := tw.write("PUT "+path, addUsers, t.RemoveUsers, addGroups, addNames, rmGroups)
		return a.rec.send(ctx, w, func(ctx context.Context) (int, error) {
			_, err := a.e.write.ReplaceSMEs(ctx, t.ID, req)
			return 0, a.confirmSMEs(ctx, t.ID, err, func(users, groups []int) bool {
				return slices.Equal(users, req.UserIDs) && slices.Equal(groups, req.UserGroupIDs)
			})
		})
	})
}

// tagWrite describes the writes of one tag.
type tagWrite struct {
	a *applier
	t *plan.TagPlan
}

func (tw tagWrite) write(call string, addUsers, rmUsers, addGroups []int, addNames []string, rmGroups []int) write {
	a, t := tw.a, tw.t
	w := write{call: call, ledger: []state.LedgerChange{
		{Key: plan.LedgerKey(plan.LedgerSMEUsers, t.ID), Added: slices.Clone(addUsers), Removed: slices.Clone(rmUsers)},
		{Key: plan.LedgerKey(plan.LedgerSMEGroups, t.ID), Added: slices.Clone(addGroups), Removed: slices.Clone(rmGroups)},
	}}
	if len(addUsers) > 0 {
		w.lines = append(w.lines, a.line(report.KindAddSMEUsers, "", t.Tag, addUsers, nil))
	}
	if len(rmUsers) > 0 {
		l := a.line(report.KindRemoveSMEUsers, "", t.Tag, rmUsers, nil)
		l.Approval = t.ApprovedUsers
		w.lines = append(w.lines, l)
	}
	if len(addGroups) > 0 {
		w.lines = append(w.lines, a.line(report.KindAddSMEGroups, "", t.Tag, nil, addNames))
	}
	if len(rmGroups) > 0 {
		var names []string
		for _, r := range t.RemoveGroups {
			if slices.Contains(rmGroups, r.ID) {
				names = append(names, r.Name)
			}
		}
		l := a.line(report.KindRemoveSMEGroups, "", t.Tag, nil, names)
		l.Approval = t.ApprovedGroups
		w.lines = append(w.lines, l)
	}
	return w
}

// kindOp is one write of a step, and the kind of change it applies.
type kindOp struct {
	kind string
	send func() error
}

// sendEach sends a step's writes in order. A failed write fails its kind
// of change; the others still go, unless the failure would fail every
// write (a rejected token, a stopped run): the writes not sent then fail
// with it.
func sendEach(ctx context.Context, ops []kindOp) error {
	failed := kindErrors{}
	for i, op := range ops {
		err := op.send()
		if err == nil {
			continue
		}
		if failed[op.kind] == nil {
			failed[op.kind] = err
		}
		if fatalForWrites(ctx, err) {
			for _, rest := range ops[i+1:] {
				if failed[rest.kind] == nil {
					failed[rest.kind] = err
				}
			}
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// kindErrors fails the changes of some kinds of a step (by kind); the
// step's other changes were applied.
type kindErrors map[string]error

func (k kindErrors) Error() string {
	var msgs []string
	for _, kind := range slices.Sorted(maps.Keys(k)) {
		if m := k[kind].Error(); !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, "; ")
}

func (k kindErrors) Unwrap() []error {
	out := make([]error, 0, len(k))
	for _, kind := range slices.Sorted(maps.Keys(k)) {
		out = append(out, k[kind])
	}
	return out
}

// changeError is the outcome of one change of a step that returned err.
func changeError(err error, kind string) error {
	var k kindErrors
	if errors.As(err, &k) {
		return k[kind]
	}
	return err
}

// confirmGroup settles a group write whose answer could not be read
// (teams.ErrUnconfirmed): it is not applied until a read shows the group
// as the write meant to leave it. Any other error, or a read that does not
// show it, stands.
func (a *applier) confirmGroup(ctx context.Context, id int, err error, done func(*teams.UserGroup) bool) error {
	if !errors.Is(err, teams.ErrUnconfirmed) {
		return err
	}
	if g, rerr := a.e.api.GetUserGroup(ctx, id); rerr == nil && done(g) {
		return nil
	}
	return err
}

// confirmSMEs is confirmGroup for a tag's SMEs (sorted user and group ids).
func (a *applier) confirmSMEs(ctx context.Context, tagID int, err error, done func(users, groups []int) bool) error {
	if !errors.Is(err, teams.ErrUnconfirmed) {
		return err
	}
	smes, rerr := a.e.api.GetSMEs(ctx, tagID)
	if rerr != nil {
		return err
	}
	if done(smeUserIDs(smes), smeGroupIDs(smes)) {
		return nil
	}
	return err
}

// smeUserIDs are the ids of a tag's SME users, sorted.
func smeUserIDs(smes *teams.SMEs) []int { return idset.Sort(slices.Clone(smes.Users.IDs)) }

// smeGroupIDs are the ids of a tag's SME groups, sorted.
func smeGroupIDs(smes *teams.SMEs) []int {
	groups := make([]int, 0, len(smes.UserGroups))
	for _, g := range smes.UserGroups {
		groups = append(groups, g.ID)
	}
	return idset.Sort(groups)
}

func memberIDs(users []teams.UserSummary) []int {
	ids := make([]int, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return idset.Sort(ids)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, teams.ErrNotFound) {
		return nil
	}
	return err
}

// groupIDs resolves SME group refs, including groups created this run,
// and gives their names; the error names those that were not created.
func (a *applier) groupIDs(refs []plan.GroupRef) ([]int, []string, error) {
	var ids []int
	var names, missing []string
	for _, r := range refs {
		id := r.ID
		if id == 0 {
			id = a.created[strings.ToLower(r.Name)]
		}
		if id == 0 {
			missing = append(missing, fmt.Sprintf("%q", r.Name))
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
			names = append(names, r.Name)
		}
	}
	var err error
	if len(missing) > 0 {
		err = fmt.Errorf("user group %s was not created, so it cannot be made an SME group yet", strings.Join(missing, ", "))
	}
	return idset.Sort(ids), names, err
}

func refIDs(refs []plan.GroupRef) []int {
	ids := make([]int, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	return ids
}

// withFreshIDs runs write; when the API refuses it for a user id that may
// not exist (404, or 400 naming the user: REFERENCE.md §9.5 allows both),
// that cached id may be stale: it is forgotten, looked up again by e-mail
// and the write retried once with the corrected list. People without an
// account any more are dropped. The cache is forgotten first, so a
// lookup that fails leaves the next run to look them up again.
func (a *applier) withFreshIDs(ctx context.Context, ids *[]int, write func() error) error {
	err := write()
	stale := teams.UnknownUsers(err, *ids)
	if len(stale) == 0 {
		return err
	}
	fresh := a.e.refresh(ctx, a.emailOf, stale)
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
			if a.renamed == nil {
				a.renamed = map[int]int{}
			}
			a.renamed[id] = n
		}
	}
	*ids = idset.Sort(out)
	return write()
}

func (a *applier) emailOf(id int) string { return a.users[id].Email }

// renameUsers makes the report's changes of step s name the live ids a
// write was sent with, where a stale one was replaced (as the audit log
// does).
func (a *applier) renameUsers(r *report.Report, s step) {
	if len(a.renamed) == 0 {
		return
	}
	for _, i := range s.changes {
		for j, u := range r.Changes[i].Users {
			if n, ok := a.renamed[u.ID]; ok {
				r.Changes[i].Users[j].ID = n
			}
		}
	}
}
