package teams

import (
	"context"
	"net/url"
	"strconv"
)

// Route templates, relative to the base URL, as used in hooks and errors.
const (
	routeUsers           = "/users"
	routeUser            = "/users/{userId}"
	routeMe              = "/users/me"
	routeUserByEmail     = "/users/by-email/{email}"
	routeUsersByExternal = "/users/by-external-id/{externalId}"
)

// ListUsers returns every user of the site, all pages.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return listAll(ctx, c, routeUsers, func(u User) int { return u.ID })
}

// CountUsers returns the number of users on the site in one call: the
// totalCount of the smallest page. The engine uses it to notice a first
// sign-in without asking about every pending address.
func (c *Client) CountUsers(ctx context.Context) (int, error) {
	q := url.Values{"page": {"1"}, "pageSize": {"15"}}
	var p Page[User]
	k := &call{method: "GET", route: routeUsers, path: routeUsers, query: q, retry: true}
	if err := c.do(ctx, k, &p); err != nil {
		return 0, err
	}
	return p.TotalCount, nil
}

// GetUser returns one user; ErrNotFound when there is none.
func (c *Client) GetUser(ctx context.Context, id int) (*User, error) {
	return getOne[User](ctx, c, routeUser, "/users/"+strconv.Itoa(id))
}

// Me returns the token's own user: the connection probe.
func (c *Client) Me(ctx context.Context) (*User, error) {
	return getOne[User](ctx, c, routeMe, routeMe)
}

// UserByEmail returns the user with that email (matched case-insensitively
// by the server; admin tokens only); ErrNotFound when there is none.
func (c *Client) UserByEmail(ctx context.Context, email string) (*User, error) {
	return getOne[User](ctx, c, routeUserByEmail, "/users/by-email/"+seg(email))
}

// UsersByExternalID returns the users whose SCIM/SAML external id is id;
// none is an empty slice, not an error.
func (c *Client) UsersByExternalID(ctx context.Context, id string) ([]User, error) {
	var users []User
	k := &call{method: "GET", route: routeUsersByExternal, path: "/users/by-external-id/" + seg(id), retry: true}
	if err := c.do(ctx, k, &users); err != nil {
		return nil, err
	}
	if users == nil {
		users = []User{}
	}
	return users, nil
}

// getOne GETs a single object.
func getOne[T any](ctx context.Context, c *Client, route, path string) (*T, error) {
	var v T
	if err := c.do(ctx, &call{method: "GET", route: route, path: path, retry: true}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// send sends a write whose answer (if any) is decoded into a new T.
func send[T any](ctx context.Context, c *Client, k *call) (*T, error) {
	var v T
	if err := c.do(ctx, k, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
