package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/teams"
)

// Reader is what a run reads from Teams; *teams.Client satisfies it.
type Reader interface {
	// ListAccounts lists every user: id, name and e-mail address.
	ListAccounts(ctx context.Context) ([]teams.Account, error)
	// CountUsers is the user count of a one-page listing: while someone
	// is pending, a change in it means someone signed in.
	CountUsers(ctx context.Context) (int, error)
	UserByEmail(ctx context.Context, email string) (*teams.User, error)
	// ListRosters lists every user group with its members' ids and
	// names: the evidence a create is decided on, too.
	ListRosters(ctx context.Context) ([]teams.Roster, error)
	GetUserGroup(ctx context.Context, id int) (*teams.UserGroup, error)
	FindTag(ctx context.Context, name string) (*teams.Tag, error)
	// GetUser reads one user, with its e-mail address: who an account
	// the plan would remove is.
	GetUser(ctx context.Context, id int) (*teams.User, error)
	// GetTag reads a tag with its SMEs: its name comes with them.
	GetTag(ctx context.Context, id int) (*teams.Tag, error)
	GetSMEs(ctx context.Context, tagID int) (*teams.SMEs, error)
	// Calls is how many requests the client sent so far, reads and
	// writes: a run reports the difference.
	Calls() int
	// TimeFor is the least time n more calls take under the API's rate
	// limits, from its last stated budget; false when none was stated.
	TimeFor(n int) (time.Duration, bool)
}

// Writer is what an applying run writes to Teams; *teams.Client satisfies
// it. A dry run is given none.
type Writer interface {
	CreateUserGroup(ctx context.Context, r teams.UserGroupRequest) (*teams.Created, error)
	ReplaceUserGroup(ctx context.Context, id int, r teams.UserGroupRequest) (*teams.Roster, error)
	AddUserGroupMembers(ctx context.Context, id int, userIDs []int) (*teams.Roster, error)
	RemoveUserGroupMember(ctx context.Context, id, userID int) error
	ReplaceSMEs(ctx context.Context, tagID int, r teams.SMERequest) (*teams.SMEs, error)
	AddSMEUsers(ctx context.Context, tagID int, userIDs []int) (*teams.SMEs, error)
	AddSMEGroups(ctx context.Context, tagID int, groupIDs []int) (*teams.SMEs, error)
	RemoveSMEUser(ctx context.Context, tagID, userID int) error
	RemoveSMEGroup(ctx context.Context, tagID, groupID int) error
}

// teamsView is the current state plus what the report needs to name people.
type teamsView struct {
	cur plan.Current
	// rosters are the groups as listed, whose members' names the report
	// looks up for the few people a plan mentions (a name per membership
	// in a map would cost a map write per membership every run).
	rosters []teams.Roster
	names   map[int]string // Teams user id -> display name, of SMEs read
}

// readCurrent lists the user groups once and reads the SMEs of each
// configured tag. A failed group listing is fatal for the run (nothing can
// be planned); a tag that cannot be read fails only its SME rule.
func (e *Engine) readCurrent(ctx context.Context, tagNames []string) (*teamsView, error) {
	groups, err := e.api.ListRosters(ctx)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w%s", err, onItsEvidence(err))
	}
	v := &teamsView{names: map[int]string{}, cur: plan.Current{Tags: map[string]*plan.CurrentTag{}}}
	v.rosters = groups
	v.cur.Groups = make([]plan.CurrentGroup, 0, len(groups))
	for _, g := range groups {
		v.cur.Groups = append(v.cur.Groups, plan.CurrentGroup{ID: g.ID, Name: g.Name, Description: g.Description, Members: idset.Sort(slices.Clone(g.UserIDs))})
	}
	keys := make([]string, len(tagNames))
	for i, name := range tagNames {
		keys[i] = strings.ToLower(name)
	}
	cached := e.store.TagIDs(keys)
	for i, name := range tagNames {
		if k := keys[i]; v.cur.Tags[k] == nil {
			v.cur.Tags[k] = e.readTag(ctx, name, cached[k], v)
		}
	}
	return v, nil
}

// name fills in the Teams display names of the users in out that have
// none yet.
func (v *teamsView) name(out map[int]report.User) {
	set := func(id int, name string) {
		if u, ok := out[id]; ok && u.Name == "" {
			u.Name = name
			out[id] = u
		}
	}
	for id, name := range v.names {
		set(id, name)
	}
	for _, g := range v.rosters {
		for i, id := range g.UserIDs {
			if _, ok := out[id]; ok {
				set(id, g.UserName(i))
			}
		}
	}
}

func (v *teamsView) memberIDs(users []teams.UserSummary) []int {
	ids := make([]int, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
		v.names[u.ID] = u.Name
	}
	return idset.Sort(ids)
}

// smeIDs is memberIDs for a tag's SME users.
func (v *teamsView) smeIDs(m *teams.Members) []int {
	for i, id := range m.IDs {
		v.names[id] = m.Name(i)
	}
	return idset.Sort(slices.Clone(m.IDs))
}

// readTag reads one tag's SMEs: one call when its id is cached (id), two
// when it has to be found by name first.
//
// A cached id is only an address: an admin may rename the tag it points
// to, and another tag may take the configured name (DESIGN.md §8 rule 4:
// nothing the config does not name is ever written). So the SMEs are read
// through GET /tags/{id}, whose answer carries the tag's name with them,
// at the price of the SME read it replaces. A cached id that 404s or no
// longer carries the name is forgotten and the tag looked up by name.
func (e *Engine) readTag(ctx context.Context, name string, id int, v *teamsView) *plan.CurrentTag {
	k := strings.ToLower(name)
	if id != 0 {
		t, err := e.readTagByID(ctx, name, id, v)
		if !errors.Is(err, errTagMoved) {
			return t
		}
		e.log.Info("the cached tag id no longer names the tag: looking it up by name", zap.String("tag", name),
			zap.Int("cached_id", id), errField(err))
		_ = e.store.PutTagID(k, 0)
	}
	tag, err := e.api.FindTag(ctx, name)
	if err != nil {
		if errors.Is(err, teams.ErrNotFound) {
			return &plan.CurrentTag{Name: name, Err: errNoSuchTag}
		}
		return &plan.CurrentTag{Name: name, Err: tagError(err)}
	}
	if err := e.store.PutTagID(k, tag.ID); err != nil {
		e.log.Warn("cannot cache tag id", errField(err))
	}
	t, err := e.readTagByID(ctx, name, tag.ID, v)
	if errors.Is(err, errTagMoved) { // renamed or deleted between the two reads
		_ = e.store.PutTagID(k, 0)
		return &plan.CurrentTag{ID: tag.ID, Name: tag.Name, Err: fmt.Errorf("read SMEs: %w", err)}
	}
	return t
}

// errTagMoved is a tag id that no longer names the configured tag: it is
// gone (404) or carries another name now.
var errTagMoved = errors.New("the tag id no longer names this tag")

// readTagByID reads the SMEs of tag id, which must still be named name
// (case-insensitively); errTagMoved when it is not, or is gone. The
// current tag it returns carries any other error.
func (e *Engine) readTagByID(ctx context.Context, name string, id int, v *teamsView) (*plan.CurrentTag, error) {
	smes, named, err := e.tagSMEs(ctx, name, id)
	switch {
	case errors.Is(err, errTagMoved):
		return nil, err
	case err != nil:
		return &plan.CurrentTag{ID: id, Name: name, Err: tagError(err)}, nil
	}
	return v.tag(id, named, smes), nil
}

// tagSMEs reads the SMEs of tag id through GET /tags/{id}, checking that
// the tag is still named name, and gives its name as Teams spells it;
// errTagMoved when it is gone or named otherwise.
func (e *Engine) tagSMEs(ctx context.Context, name string, id int) (*teams.SMEs, string, error) {
	tag, err := e.api.GetTag(ctx, id)
	switch {
	case errors.Is(err, teams.ErrNotFound):
		return nil, "", fmt.Errorf("%w: tag %d: %v", errTagMoved, id, err)
	case err != nil:
		return nil, "", err
	case !strings.EqualFold(tag.Name, name):
		return nil, "", fmt.Errorf("%w: tag %d is named %q in Teams now", errTagMoved, id, tag.Name)
	}
	smes := tag.SubjectMatterExperts
	if tag.SubjectMatterExpertCount == nil || smes == nil || smes.Users.IDs == nil || smes.UserGroups == nil {
		// A null count says SMEs are off (REFERENCE.md §5.3, §6); a tag
		// without both lists says nothing. The SME read answers either
		// for sure (422, or the lists): one more call, on such sites only.
		smes, err = e.api.GetSMEs(ctx, id)
	}
	return smes, tag.Name, err
}

func (v *teamsView) tag(id int, name string, s *teams.SMEs) *plan.CurrentTag {
	t := &plan.CurrentTag{ID: id, Name: name, Users: v.smeIDs(&s.Users)}
	for _, g := range s.UserGroups {
		t.Groups = append(t.Groups, g.ID)
	}
	slices.Sort(t.Groups)
	return t
}

// errNoSuchTag is a configured tag that Teams does not have.
var errNoSuchTag = errors.New("no such tag in Teams")

func tagError(err error) error {
	if errors.Is(err, teams.ErrSMEDisabled) {
		return fmt.Errorf("SMEs are not enabled on this site: %w", err)
	}
	return fmt.Errorf("read SMEs: %w%s", err, onItsEvidence(err))
}

// onItsEvidence says what an incomplete read of Teams means for the run
// (DESIGN.md §8 rule 6).
func onItsEvidence(err error) string {
	if errors.Is(err, teams.ErrIncomplete) {
		return "; nothing is created or removed on its evidence"
	}
	return ""
}
