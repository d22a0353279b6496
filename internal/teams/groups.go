package teams

import (
	"context"
	"fmt"
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

// ListUserGroups returns every user group, all pages; each carries its
// members. It also remembers which groups exist, for CreateUserGroup.
func (c *Client) ListUserGroups(ctx context.Context) ([]UserGroup, error) {
	groups, err := listAll(ctx, c, routeGroups, func(g UserGroup) int { return g.ID })
	if err != nil {
		return nil, err
	}
	c.rememberGroups(groups)
	return groups, nil
}

// GetUserGroup returns one group with its members; ErrNotFound when none.
func (c *Client) GetUserGroup(ctx context.Context, id int) (*UserGroup, error) {
	return getOne[UserGroup](ctx, c, routeGroup, groupPath(id))
}

// ReplaceUserGroup replaces a group whole (PUT): name, description and
// members; whatever r leaves empty is cleared on the server.
func (c *Client) ReplaceUserGroup(ctx context.Context, id int, r UserGroupRequest) (*UserGroup, error) {
	if err := checkName("PUT", routeGroup, r.Name); err != nil {
		return nil, err
	}
	k := &call{method: "PUT", route: routeGroup, path: groupPath(id), body: fullRequest(r), retry: true}
	return send[UserGroup](ctx, c, k)
}

// AddUserGroupMembers adds users to a group (existing members stay, and
// are not duplicated) and returns the group. An unknown user id fails the
// whole call. Re-sending it is harmless, so it is retried.
func (c *Client) AddUserGroupMembers(ctx context.Context, id int, userIDs []int) (*UserGroup, error) {
	k := &call{method: "POST", route: routeGroupMembers, path: groupPath(id) + "/members", body: nonNil(userIDs), retry: true}
	return send[UserGroup](ctx, c, k)
}

// RemoveUserGroupMember removes one member. The answer (200 with the
// group per the spec, 204 on some servers) is not needed.
func (c *Client) RemoveUserGroupMember(ctx context.Context, id, userID int) error {
	k := &call{method: "DELETE", route: routeGroupMember,
		path: groupPath(id) + "/members/" + strconv.Itoa(userID), retry: true}
	return c.do(ctx, k, nil)
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
