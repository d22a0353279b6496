package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// CreateUserGroup creates a group (POST /user-groups, 201). No API deletes
// a group, so a create is irreversible and is sent only on evidence:
//
//   - The evidence is the client's latest complete ListUserGroups. The
//     caller calls ListUserGroups just before the first create of a run;
//     a client that never listed, or whose latest listing failed, lists
//     now, and an incomplete listing fails the create (ErrIncomplete)
//     without sending anything.
//   - A name that listing shows, compared case-insensitively, is not
//     created: a *GroupExistsError (ErrGroupExists) names the groups.
//   - The create is sent once. A 429 (rejected before processing) and a
//     request that never left are sent again; nothing else is.
//   - When the answer is lost or unreadable (a 5xx, a timeout, a broken
//     connection, an empty or unreadable 2xx), the groups are listed
//     again and exactly one group of that name, new since the evidence,
//     is the one created: it is returned with a nil error. When there is
//     none, the original error is returned; when there are several, a
//     *GroupExistsError joins it; when the listing is incomplete, its
//     error joins it. OutcomeUnknown is true for all three.
//   - A name whose create ended with an unknown outcome is refused
//     (ErrUnconfirmed, OutcomeUnknown) until the next ListUserGroups: a
//     write that lands late must not meet a second create.
//
// It returns the new group's id and name (Created).
func (c *Client) CreateUserGroup(ctx context.Context, r UserGroupRequest) (*Created, error) {
	if err := checkName("POST", routeGroups, r.Name); err != nil {
		return nil, err
	}
	if err := c.mayCreate(ctx, r.Name); err != nil {
		return nil, err
	}
	k := &call{method: "POST", route: routeGroups, path: routeGroups, body: fullRequest(r)}
	g, err := send(ctx, c, k, func(g *Created) string {
		if g.ID <= 0 {
			return "no group id"
		}
		return ""
	})
	if err == nil {
		c.rememberGroup(g.Name, g.ID)
		return g, nil
	}
	if !OutcomeUnknown(err) {
		return nil, err
	}
	c.markUnsure(r.Name)
	if ctx.Err() != nil {
		return nil, err
	}
	return c.resolveCreate(ctx, r.Name, err)
}

// mayCreate checks the evidence a create of name is decided on.
func (c *Client) mayCreate(ctx context.Context, name string) error {
	c.groupsMu.Lock()
	known, unsure := c.knownGroups != nil, c.unsure[fold(name)]
	c.groupsMu.Unlock()
	if unsure {
		return &UnconfirmedError{Method: http.MethodPost, Route: routeGroups, Reason: fmt.Sprintf(
			"not sent: an earlier create of %q may have been applied (its answer was lost or unreadable); list the user groups again before creating it", name)}
	}
	if !known {
		if _, err := c.listRosters(ctx); err != nil {
			return fmt.Errorf("teams: create user group %q: list user groups first: %w", name, err)
		}
	}
	c.groupsMu.Lock()
	ids := slices.Clone(c.knownGroups[fold(name)])
	c.groupsMu.Unlock()
	if len(ids) > 0 {
		slices.Sort(ids)
		return &GroupExistsError{Name: name, IDs: ids}
	}
	return nil
}

// resolveCreate settles a create whose answer was lost or unreadable by
// listing the groups: the evidence showed no group of that name, so
// exactly one now is the one the create made.
func (c *Client) resolveCreate(ctx context.Context, name string, createErr error) (*Created, error) {
	groups, err := c.listRosters(ctx)
	if err != nil {
		return nil, errors.Join(createErr, fmt.Errorf("teams: list user groups to confirm the create of %q: %w", name, err))
	}
	var found []*Roster
	for i := range groups {
		if fold(groups[i].Name) == fold(name) {
			found = append(found, &groups[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, createErr // not there (yet): it may still land
	case 1:
		c.groupsMu.Lock()
		delete(c.unsure, fold(name))
		c.groupsMu.Unlock()
		return &Created{ID: found[0].ID, Name: found[0].Name}, nil
	}
	ids := make([]int, len(found))
	for i, g := range found {
		ids[i] = g.ID
	}
	slices.Sort(ids)
	return nil, errors.Join(createErr, &GroupExistsError{Name: name, IDs: ids})
}

// fold is the form group names are compared in.
func fold(name string) string { return strings.ToLower(name) }

// indexGroups returns the ids of a listing's groups by folded name.
func indexGroups[T any](groups []T, nameID func(*T) (string, int)) map[string][]int {
	known := make(map[string][]int, len(groups))
	for i := range groups {
		name, id := nameID(&groups[i])
		known[fold(name)] = append(known[fold(name)], id)
	}
	return known
}

// rememberGroups records a listing (known, from indexGroups) as the
// evidence for creates; a failed one (err) leaves none.
func (c *Client) rememberGroups(known map[string][]int, err error) {
	if err != nil {
		known = nil
	}
	c.groupsMu.Lock()
	c.knownGroups = known
	c.groupsMu.Unlock()
}

// settled lifts the refusal of creates whose outcome was unknown, after a
// complete listing the caller asked for: what it shows is now the evidence.
func (c *Client) settled() {
	c.groupsMu.Lock()
	c.unsure = nil
	c.groupsMu.Unlock()
}

// rememberGroup adds a group this client created to the evidence.
func (c *Client) rememberGroup(name string, id int) {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	if c.knownGroups == nil {
		return // no full picture yet: the next create lists anyway
	}
	if k := fold(name); !slices.Contains(c.knownGroups[k], id) {
		c.knownGroups[k] = append(c.knownGroups[k], id)
	}
}

// markUnsure refuses further creates of name until the next listing.
func (c *Client) markUnsure(name string) {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	if c.unsure == nil {
		c.unsure = map[string]bool{}
	}
	c.unsure[fold(name)] = true
}
