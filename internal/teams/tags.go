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
// ErrNotFound when there is none.
func (c *Client) FindTag(ctx context.Context, name string) (*Tag, error) {
	var found *Tag
	q := url.Values{"partialName": {name}}
	err := eachPage(ctx, c, routeTags, q, func(p *Page[Tag]) bool {
		for i := range p.Items {
			if strings.EqualFold(p.Items[i].Name, name) {
				found = &p.Items[i]
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
	return getOne[Tag](ctx, c, routeTag, tagPath(id))
}

// GetSMEs returns a tag's SMEs; ErrSMEDisabled when the site has no SMEs.
func (c *Client) GetSMEs(ctx context.Context, tagID int) (*SMEs, error) {
	return getOne[SMEs](ctx, c, routeSMEs, smePath(tagID))
}

// ReplaceSMEs replaces both SME lists of a tag at once.
func (c *Client) ReplaceSMEs(ctx context.Context, tagID int, r SMERequest) (*SMEs, error) {
	r.UserIDs, r.UserGroupIDs = nonNil(r.UserIDs), nonNil(r.UserGroupIDs)
	k := &call{method: "PUT", route: routeSMEs, path: smePath(tagID), body: r, retry: true}
	return send[SMEs](ctx, c, k)
}

// AddSMEUsers adds users as SMEs of a tag, keeping the others.
func (c *Client) AddSMEUsers(ctx context.Context, tagID int, userIDs []int) (*SMEs, error) {
	k := &call{method: "POST", route: routeSMEUsers, path: smePath(tagID) + "/users", body: nonNil(userIDs), retry: true}
	return send[SMEs](ctx, c, k)
}

// AddSMEGroups adds user groups as SMEs of a tag, keeping the others.
func (c *Client) AddSMEGroups(ctx context.Context, tagID int, groupIDs []int) (*SMEs, error) {
	k := &call{method: "POST", route: routeSMEGroups, path: smePath(tagID) + "/user-groups", body: nonNil(groupIDs), retry: true}
	return send[SMEs](ctx, c, k)
}

// RemoveSMEUser removes one user from a tag's SMEs.
func (c *Client) RemoveSMEUser(ctx context.Context, tagID, userID int) error {
	k := &call{method: "DELETE", route: routeSMEUser, path: smePath(tagID) + "/users" + itoaPath(userID), retry: true}
	return c.do(ctx, k, nil)
}

// RemoveSMEGroup removes one user group from a tag's SMEs.
func (c *Client) RemoveSMEGroup(ctx context.Context, tagID, groupID int) error {
	k := &call{method: "DELETE", route: routeSMEUserGroup, path: smePath(tagID) + "/user-groups" + itoaPath(groupID), retry: true}
	return c.do(ctx, k, nil)
}
