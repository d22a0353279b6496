package teams

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const (
	routeTags         = "/tags"
	routeTag          = "/tags/{tagId}"
	routeSMEs         = "/tags/{tagId}/subject-matter-experts"
	routeSMEUsers     = "/tags/{tagId}/subject-matter-experts/users"
	routeSMEGroups    = "/tags/{tagId}/subject-matter-experts/user-groups"
	routeSMEUser      = "/tags/{tagId}/subject-matter-experts/users/{userId}"
	routeSMEUserGroup = "/tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}"
)

func tagPath(id int) string  { return "/tags/" + strconv.Itoa(id) }
func smePath(id int) string  { return tagPath(id) + "/subject-matter-experts" }
func itoaPath(id int) string { return "/" + strconv.Itoa(id) }

// FindTag returns the tag named name (case-insensitively): there is no
// lookup by name, so it pages through partialName matches until found.
// ErrNotFound only when a complete listing of the matches has no such
// tag; an *IncompleteError when the listing is not provably complete.
func (c *Client) FindTag(ctx context.Context, name string) (*Tag, error) {
	var found *Tag
	l := &lister[Tag]{route: routeTags, query: url.Values{"partialName": {name}}, id: func(t *Tag) int { return t.ID }}
	err := l.each(ctx, c, func() {}, func(items []Tag) bool {
		for i := range items {
			if strings.EqualFold(items[i].Name, name) {
				found = &items[i]
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("teams: tag %q: %w", name, ErrNotFound)
	}
	return found, nil
}

// GetTag returns a tag with its subject-matter experts.
func (c *Client) GetTag(ctx context.Context, id int) (*Tag, error) {
	return getOne(ctx, c, routeTag, tagPath(id), func(t *Tag) string { return otherObject("tag", id, t.ID) })
}

// GetSMEs returns a tag's SMEs; ErrSMEDisabled when the site has no SMEs;
// an *IncompleteError when the answer lacks either list (a missing list
// would read as "no SMEs" and plan their removal).
func (c *Client) GetSMEs(ctx context.Context, tagID int) (*SMEs, error) {
	return getOne(ctx, c, routeSMEs, smePath(tagID), smesChecked)
}

func smesChecked(s *SMEs) string {
	switch {
	case s.Users.IDs == nil:
		return "no users"
	case s.UserGroups == nil:
		return "no userGroups"
	}
	return ""
}

// ReplaceSMEs replaces both SME lists of a tag at once.
func (c *Client) ReplaceSMEs(ctx context.Context, tagID int, r SMERequest) (*SMEs, error) {
	r.UserIDs, r.UserGroupIDs = nonNil(r.UserIDs), nonNil(r.UserGroupIDs)
	k := &call{method: "PUT", route: routeSMEs, path: smePath(tagID), body: r, retry: true}
	return send(ctx, c, k, smesChecked)
}

// AddSMEUsers adds users as SMEs of a tag, keeping the others.
func (c *Client) AddSMEUsers(ctx context.Context, tagID int, userIDs []int) (*SMEs, error) {
	k := &call{method: "POST", route: routeSMEUsers, path: smePath(tagID) + "/users", body: nonNil(userIDs), retry: true}
	return send(ctx, c, k, smesChecked)
}

// AddSMEGroups adds user groups as SMEs of a tag, keeping the others.
func (c *Client) AddSMEGroups(ctx context.Context, tagID int, groupIDs []int) (*SMEs, error) {
	k := &call{method: "POST", route: routeSMEGroups, path: smePath(tagID) + "/user-groups", body: nonNil(groupIDs), retry: true}
	return send(ctx, c, k, smesChecked)
}

// RemoveSMEUser removes one user from a tag's SMEs. The spec answers
// 204; a 200 must show the SMEs without the user, as for
// RemoveUserGroupMember.
func (c *Client) RemoveSMEUser(ctx context.Context, tagID, userID int) error {
	k := &call{method: "DELETE", route: routeSMEUser, path: smePath(tagID) + "/users" + itoaPath(userID), retry: true, noContent: true}
	var after SMEs
	if err := c.do(ctx, k, readObject(&after, smesChecked)); err != nil {
		return err
	}
	return stillListed(k, after.Users.IDs, userID)
}

// RemoveSMEGroup removes one user group from a tag's SMEs, answered as
// RemoveSMEUser is.
func (c *Client) RemoveSMEGroup(ctx context.Context, tagID, groupID int) error {
	k := &call{method: "DELETE", route: routeSMEUserGroup, path: smePath(tagID) + "/user-groups" + itoaPath(groupID), retry: true, noContent: true}
	var after SMEs
	if err := c.do(ctx, k, readObject(&after, smesChecked)); err != nil {
		return err
	}
	groups := make([]int, len(after.UserGroups))
	for i, g := range after.UserGroups {
		groups[i] = g.ID
	}
	return stillListed(k, groups, groupID)
}
