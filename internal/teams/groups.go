package teams

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const (
	routeGroups       = "/user-groups"
	routeGroup        = "/user-groups/{userGroupId}"
	routeGroupMembers = "/user-groups/{userGroupId}/members"
	routeGroupMember  = "/user-groups/{userGroupId}/members/{userId}"
)

func groupPath(id int) string { return "/user-groups/" + strconv.Itoa(id) }

// ListUserGroups returns every user group, all pages, each with its
// members; an *IncompleteError when the listing is not provably complete.
// It is the evidence CreateUserGroup decides on: a complete listing
// replaces what the client knows of the groups (and lifts the refusal of
// names whose create had an unknown outcome); a failed one leaves the
// client knowing nothing, so that the next create lists again.
func (c *Client) ListUserGroups(ctx context.Context) ([]UserGroup, error) {
	groups, err := c.listUserGroups(ctx)
	if err != nil {
		return nil, err
	}
	c.settled()
	return groups, nil
}

// listUserGroups lists the groups and records the listing as evidence.
func (c *Client) listUserGroups(ctx context.Context) ([]UserGroup, error) {
	groups, err := listAll(ctx, c, &lister[UserGroup]{route: routeGroups, id: groupID, check: groupChecked})
	c.rememberGroups(indexGroups(groups, func(g *UserGroup) (string, int) { return g.Name, g.ID }), err)
	return groups, err
}

func groupID(g *UserGroup) int { return g.ID }

// groupChecked requires a group's members: without them a group would
// read as empty, and its members as people to add or to remove.
func groupChecked(g *UserGroup) string {
	if g.Users == nil {
		return "no users" // missing or null; [] is an empty group
	}
	return ""
}

// GetUserGroup returns one group with its members; ErrNotFound when none.
func (c *Client) GetUserGroup(ctx context.Context, id int) (*UserGroup, error) {
	return getOne(ctx, c, routeGroup, groupPath(id), func(g *UserGroup) string {
		if missing := otherObject("user group", id, g.ID); missing != "" {
			return missing
		}
		return groupChecked(g)
	})
}

// ReplaceUserGroup replaces a group whole (PUT): name, description and
// members; whatever r leaves empty is cleared on the server. Like every
// group write, it returns the answer's group as a roster. Sending it
// again gives the same group, so it is retried. An answer that cannot be
// read is an *UnconfirmedError, as for every write with an answer.
func (c *Client) ReplaceUserGroup(ctx context.Context, id int, r UserGroupRequest) (*Roster, error) {
	if err := checkName("PUT", routeGroup, r.Name); err != nil {
		return nil, err
	}
	k := &call{method: "PUT", route: routeGroup, path: groupPath(id), body: fullRequest(r), retry: true}
	return send(ctx, c, k, rosterOf(id))
}

// AddUserGroupMembers adds users to a group (existing members stay, and
// are not duplicated) and returns the group. An unknown user id fails the
// whole call. Re-sending it is harmless, so it is retried.
func (c *Client) AddUserGroupMembers(ctx context.Context, id int, userIDs []int) (*Roster, error) {
	k := &call{method: "POST", route: routeGroupMembers, path: groupPath(id) + "/members", body: nonNil(userIDs), retry: true}
	return send(ctx, c, k, rosterOf(id))
}

// RemoveUserGroupMember removes one member. The spec answers 200 with the
// group, some servers 204 with nothing; a 204 is taken at its word. A 200
// must show the group without the member: one that is empty, not the
// group, or still lists them is an *UnconfirmedError, for a read to settle
// (a gateway may answer 200 for a request it never passed on).
func (c *Client) RemoveUserGroupMember(ctx context.Context, id, userID int) error {
	k := &call{method: "DELETE", route: routeGroupMember,
		path: groupPath(id) + "/members/" + strconv.Itoa(userID), retry: true, noContent: true}
	var after Roster
	if err := c.do(ctx, k, readObject(&after, rosterOf(id))); err != nil {
		return err
	}
	return stillListed(k, after.UserIDs, userID)
}

// otherObject tells an answer about another object than the one asked
// for (a cache or proxy mixing answers up): taken for it, another group's
// members would be planned as this one's. "" when id is the one.
func otherObject(what string, want, got int) string {
	switch {
	case got <= 0:
		return "no id"
	case got != want:
		return fmt.Sprintf("%s %d instead of %d", what, got, want)
	}
	return ""
}

// rosterOf checks the answer of a write to group id: that group, with its
// members.
func rosterOf(id int) func(*Roster) string {
	return func(g *Roster) string {
		if missing := otherObject("user group", id, g.ID); missing != "" {
			return missing
		}
		return rosterChecked(g)
	}
}

// stillListed is the error of a removal of id whose 200 answer still
// lists it; nil when it does not, or the answer was a 204 (listed nil).
func stillListed(k *call, listed []int, id int) error {
	if !slices.Contains(listed, id) {
		return nil
	}
	return &UnconfirmedError{Method: k.method, Route: k.route, Status: http.StatusOK,
		Reason: fmt.Sprintf("its answer still lists %d", id)}
}

// fullRequest sends empty lists rather than null: PUT and POST take the
// request as the whole new state.
func fullRequest(r UserGroupRequest) UserGroupRequest {
	r.UserIDs = nonNil(r.UserIDs)
	return r
}

func nonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

// checkName refuses a request the server would refuse: the spec requires
// a name of at least one character.
func checkName(method, route, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("teams: %s %s: user group name is required: %w", method, route, ErrBadRequest)
	}
	return nil
}
