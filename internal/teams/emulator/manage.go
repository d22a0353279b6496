package emulator

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

// manageUserJSON is ManageUserResponseModel, the items of GET /users/manage.
type manageUserJSON struct {
	Email            *string `json:"email"`
	IsDeactivated    bool    `json:"isDeactivated"`
	CreationDate     string  `json:"creationDate"`
	LastModifiedDate *string `json:"lastModifiedDate"`
	LastAccessDate   string  `json:"lastAccessDate"`
	userSummaryJSON
}

// userEpoch dates the users: the seed has no dates, so a user's creation
// and last access are derived from the id (stable across runs).
var userEpoch = time.Date(2020, 1, 6, 8, 0, 0, 0, time.UTC)

func userCreated(u *SeedUser) time.Time { return userEpoch.Add(time.Duration(u.ID) * time.Hour) }
func userAccessed(u *SeedUser) time.Time {
	return userCreated(u).Add(time.Duration(400+u.ID%300) * 24 * time.Hour)
}

// manageUsers is GET /users/manage, which the spec has on the Enterprise
// main site only (an admin's token). On a team's base URL it is 404: not
// a user id taken for "manage" (a 400 would send a client looking for a
// bad id).
func (e *Emulator) manageUsers(c *call) {
	if c.team != "" {
		c.notFound("User management is served on the Enterprise main site only (/api/v3/users/manage).")
		return
	}
	p, ok := c.readPaging([]string{"id", "name", "email", "lastAccessDate"}, "asc")
	if !ok {
		return
	}
	deactivated, ok := c.boolQuery("isDeactivated")
	if !ok {
		return
	}
	from, ok := c.timeQuery("lastAccessDateFrom")
	if !ok {
		return
	}
	to, ok := c.timeQuery("lastAccessDateTo")
	if !ok {
		return
	}
	e.mu.Lock()
	var all []*SeedUser
	for _, u := range e.users {
		at := userAccessed(u)
		if (deactivated == nil || u.Deactivated == *deactivated) && (from.IsZero() || !at.Before(from)) && (to.IsZero() || !at.After(to)) {
			all = append(all, u)
		}
	}
	sortManaged(all, p)
	out := pageOf(all, p, e.opt.EmptyTotalPages, c.managed)
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

func (c *call) managed(u *SeedUser) manageUserJSON {
	var email *string
	if u.Email != "" {
		v := u.Email
		email = &v
	}
	return manageUserJSON{Email: email, IsDeactivated: u.Deactivated, CreationDate: userCreated(u).Format(time.RFC3339),
		LastAccessDate: userAccessed(u).Format(time.RFC3339), userSummaryJSON: c.summary(u)}
}

// sortManaged orders by the sort asked for, ties broken by id.
func sortManaged(all []*SeedUser, p paging) {
	key := func(a, b *SeedUser) int {
		switch p.sort {
		case "name":
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "email":
			return strings.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email))
		case "lastAccessDate":
			return userAccessed(a).Compare(userAccessed(b))
		}
		return 0
	}
	slices.SortFunc(all, func(a, b *SeedUser) int {
		if p.order == "desc" {
			a, b = b, a
		}
		return cmp.Or(key(a, b), cmp.Compare(a.ID, b.ID))
	})
}

// timeQuery reads an optional date-time query parameter; 400 when it is
// not one. Dates without a zone are read as UTC, as the spec's examples
// are written.
func (c *call) timeQuery(name string) (time.Time, bool) {
	v, ok := c.query(name)
	if !ok || v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	c.badRequest("The value '" + v + "' is not valid for " + name + ".")
	return time.Time{}, false
}
