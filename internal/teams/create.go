package teams

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// CreateUserGroup creates a group (POST /user-groups, 201).
//
// A create is not idempotent, so it is never sent twice blindly. After an
// ambiguous failure (a 5xx, a timeout, a broken connection: the server may
// have created the group and lost the answer) it lists the groups again
// and adopts a group of exactly that name that was not there before; if
// there is none, the original error is returned. A 429 is sent again: it
// is rejected before anything is created.
//
// "Before" is the latest full ListUserGroups of this client (a sync lists
// the groups before creating any), or a listing made now when there was
// none yet.
func (c *Client) CreateUserGroup(ctx context.Context, r UserGroupRequest) (*UserGroup, error) {
	if err := checkName("POST", routeGroups, r.Name); err != nil {
		return nil, err
	}
	before, err := c.groupsNamed(ctx, r.Name)
	if err != nil {
		return nil, fmt.Errorf("teams: create user group: list groups first: %w", err)
	}
	k := &call{method: "POST", route: routeGroups, path: routeGroups, body: fullRequest(r)}
	g, err := send[UserGroup](ctx, c, k)
	if err == nil {
		c.rememberGroup(g.Name, g.ID)
		return g, nil
	}
	if !ambiguous(err) || ctx.Err() != nil {
		return nil, err
	}
	adopted, lerr := c.adopt(ctx, r.Name, before)
	switch {
	case lerr != nil:
		return nil, errors.Join(err, fmt.Errorf("teams: list user groups after a failed create: %w", lerr))
	case adopted == nil:
		return nil, err
	}
	return adopted, nil
}

// ambiguous tells whether a failed create may have been applied: anything
// but a clear 4xx answer.
func ambiguous(err error) bool {
	var apiErr *Error
	return !errors.As(err, &apiErr) || apiErr.Status >= 500
}

// adopt lists the groups and returns the one named name that is not among
// before (the lowest id if several), or nil.
func (c *Client) adopt(ctx context.Context, name string, before []int) (*UserGroup, error) {
	groups, err := c.ListUserGroups(ctx)
	if err != nil {
		return nil, err
	}
	var found *UserGroup
	for i := range groups {
		g := &groups[i]
		if g.Name != name || slices.Contains(before, g.ID) {
			continue
		}
		if found == nil || g.ID < found.ID {
			found = g
		}
	}
	return found, nil
}

// groupsNamed returns the ids of the groups named name, as last listed;
// it lists them now if this client never has.
func (c *Client) groupsNamed(ctx context.Context, name string) ([]int, error) {
	c.groupsMu.Lock()
	known := c.knownGroups != nil
	c.groupsMu.Unlock()
	if !known {
		if _, err := c.ListUserGroups(ctx); err != nil {
			return nil, err
		}
	}
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	return slices.Clone(c.knownGroups[name]), nil
}

func (c *Client) rememberGroups(groups []UserGroup) {
	known := make(map[string][]int, len(groups))
	for _, g := range groups {
		known[g.Name] = append(known[g.Name], g.ID)
	}
	c.groupsMu.Lock()
	c.knownGroups = known
	c.groupsMu.Unlock()
}

func (c *Client) rememberGroup(name string, id int) {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	if c.knownGroups == nil {
		return // no full picture yet: the next create lists anyway
	}
	if !slices.Contains(c.knownGroups[name], id) {
		c.knownGroups[name] = append(c.knownGroups[name], id)
	}
}
