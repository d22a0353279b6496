package teams

import (
	"context"
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

// ListUsers returns every user of the site with all their fields, all
// pages; an *IncompleteError when the listing is not provably complete. A
// run needs only ListAccounts.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return listAll(ctx, c, usersLister(pageSize))
}

// Account is what matching people to Teams needs of a user: its id, name
// and e-mail address.
type Account struct {
	ID    int
	Name  string
	Email string // "" when the API gives none (null unless the token is an admin's)
}

// ListAccounts returns every user of the site, all pages, as Accounts; an
// *IncompleteError when the listing is not provably complete. Only what
// matching needs is kept: the listing of 100,000 people is about 40 MB of
// JSON, most of it URLs no run uses. Every field is still checked to be
// of its kind (as a User is read), so a malformed answer is refused.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	return listAll(ctx, c, &lister[Account]{route: routeUsers, pageSize: pageSize, id: func(a *Account) int { return a.ID }})
}

// scan reads a UserResponseModel into an Account (userFields order).
func (a *Account) scan(s *scanner) error {
	return s.object(userFields, func(f int) error {
		switch f {
		case 0: // id
			return s.readInt(&a.ID)
		case 2: // name
			return s.readString(&a.Name)
		case 10: // email
			return s.readString(&a.Email)
		case 1, 5: // accountId, reputation
			var n int
			return s.readInt(&n)
		}
		return s.checkString() // avatarUrl, webUrl, role, externalId, department, jobTitle
	})
}

func usersLister(size int) *lister[User] {
	return &lister[User]{route: routeUsers, pageSize: size, id: func(u *User) int { return u.ID }}
}

// CountUsers returns the number of users on the site in one call: the
// totalCount of the smallest page, checked as the first page of a
// listing is. The engine uses it to notice a first sign-in without asking
// about every pending address.
func (c *Client) CountUsers(ctx context.Context) (int, error) {
	l := usersLister(15)
	items, s, err := l.page(ctx, c, 1)
	if err == nil {
		err = l.checkItems(1, items, map[int]bool{})
	}
	if err == nil {
		err = l.checkCount(1, len(items), 0, s)
	}
	if err == nil && s.pages <= 1 && len(items) != s.total {
		err = l.incomplete(1, "read %d items, totalCount is %d", len(items), s.total)
	}
	if err != nil {
		return 0, err
	}
	return s.total, nil
}

// GetUser returns one user; ErrNotFound when there is none.
func (c *Client) GetUser(ctx context.Context, id int) (*User, error) {
	return getOne(ctx, c, routeUser, "/users/"+strconv.Itoa(id), userChecked)
}

// Me returns the token's own user: the connection probe.
func (c *Client) Me(ctx context.Context) (*User, error) {
	return getOne(ctx, c, routeMe, routeMe, userChecked)
}

// UserByEmail returns the user with that email (matched case-insensitively
// by the server; admin tokens only); ErrNotFound when there is none.
func (c *Client) UserByEmail(ctx context.Context, email string) (*User, error) {
	return getOne(ctx, c, routeUserByEmail, "/users/by-email/"+seg(email), userChecked)
}

// UsersByExternalID returns the users whose SCIM/SAML external id is id;
// none is an empty slice, not an error. The answer must be a JSON array.
func (c *Client) UsersByExternalID(ctx context.Context, id string) ([]User, error) {
	var users []User
	k := &call{method: "GET", route: routeUsersByExternal, path: "/users/by-external-id/" + seg(id), retry: true}
	if err := c.do(ctx, k, readArray(&users)); err != nil {
		return nil, err
	}
	return users, nil
}

// userChecked requires a user's id: a user without one cannot be told
// from nobody.
func userChecked(u *User) string {
	if u.ID <= 0 {
		return "no id"
	}
	return ""
}

// getOne GETs a single object, which must be a JSON object that check
// (optional) finds usable.
func getOne[T any](ctx context.Context, c *Client, route, path string, check func(*T) string) (*T, error) {
	var v T
	if err := c.do(ctx, &call{method: "GET", route: route, path: path, retry: true}, readObject(&v, check)); err != nil {
		return nil, err
	}
	return &v, nil
}

// send sends a write whose answer is decoded into a new T; an answer that
// is not a JSON object check (optional) finds usable is an
// *UnconfirmedError.
func send[T any](ctx context.Context, c *Client, k *call, check func(*T) string) (*T, error) {
	var v T
	if err := c.do(ctx, k, readObject(&v, check)); err != nil {
		return nil, err
	}
	return &v, nil
}
