package emulator

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// siteURL is the web address of the site or team the request addressed,
// used for the webUrl fields.
func (c *call) siteURL() string {
	if c.site == "" {
		c.site = c.computeSiteURL()
	}
	return c.site
}

func (c *call) computeSiteURL() string {
	if strings.HasPrefix(strings.ToLower(c.base), "/v3/") {
		return "https://stackoverflowteams.com/c/" + c.team
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	host := c.r.Host
	if host == "" {
		host = c.r.URL.Host // a request through Transport
	}
	site := scheme + "://" + host
	if c.team != "" {
		site += "/c/" + c.team
	}
	return site
}

// slug is how Stack Overflow URLs spell a name: lower case, dashes.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// userLinks are a user's derived avatar URL and profile path, computed
// once per user rather than once per rendering.
type userLinks struct{ avatar, path string }

func linksFor(u *SeedUser) userLinks {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(u.Email + fmt.Sprint(u.ID)))))
	return userLinks{
		avatar: "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=256&d=identicon&r=PG",
		path:   fmt.Sprintf("/users/%d/%s", u.ID, slug(u.Name)),
	}
}

// summary renders UserSummaryResponseModel. Called with e.mu held.
func (c *call) summary(u *SeedUser) userSummaryJSON {
	acct := u.AccountID
	if acct == nil {
		v := 100000 + u.ID
		acct = &v
	}
	links, ok := c.e.links[u.ID]
	if !ok {
		links = linksFor(u)
		c.e.links[u.ID] = links
	}
	return userSummaryJSON{
		ID:         u.ID,
		AccountID:  acct,
		Name:       u.Name,
		AvatarURL:  links.avatar,
		WebURL:     c.siteURL() + links.path,
		Reputation: u.Reputation,
		Role:       u.Role,
	}
}

// user renders UserResponseModel. Emails are only visible to admins, or
// for the token's own user (spec: "Only visible to admins, or for the
// current user").
func (c *call) user(u *SeedUser) userJSON {
	var email *string
	if u.Email != "" && (c.token.Admin || c.token.UserID == u.ID) {
		v := u.Email
		email = &v
	}
	return userJSON{ExternalID: u.ExternalID, Department: u.Department, JobTitle: u.JobTitle,
		Email: email, userSummaryJSON: c.summary(u)}
}

func (c *call) userDetails(u *SeedUser) userDetailsJSON {
	return userDetailsJSON{Communities: []struct{}{}, userJSON: c.user(u)}
}

func (e *Emulator) listUsers(c *call) {
	p, ok := c.readPaging([]string{"reputation"}, "desc")
	if !ok {
		return
	}
	e.mu.Lock()
	all := e.sortedUsers(p.order)
	out := pageOf(all, p, e.opt.EmptyTotalPages, c.user)
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

// sortedUsers orders users by reputation, ties broken by id so pages are
// stable. The order is cached until the users change (AddUser): a full
// listing of 10,000 users would otherwise sort them once per page.
// Called with e.mu held.
func (e *Emulator) sortedUsers(order string) []*SeedUser {
	if all, ok := e.userOrder[order]; ok {
		return all
	}
	all := make([]*SeedUser, 0, len(e.users))
	for _, u := range e.users {
		all = append(all, u)
	}
	desc := order == "desc"
	slices.SortFunc(all, func(a, b *SeedUser) int {
		if a.Reputation != b.Reputation {
			if desc {
				return cmp.Compare(b.Reputation, a.Reputation)
			}
			return cmp.Compare(a.Reputation, b.Reputation)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if e.userOrder == nil {
		e.userOrder = map[string][]*SeedUser{}
	}
	e.userOrder[order] = all
	return all
}

func (e *Emulator) getUser(c *call) {
	id, ok := c.pathID(0, "userId")
	if !ok {
		return
	}
	e.answerUser(c, func() *SeedUser { return e.users[id] })
}

func (e *Emulator) me(c *call) {
	e.answerUser(c, func() *SeedUser { return e.users[c.token.UserID] })
}

// userByEmail is admin only; the path segment is URL-decoded ("%40" and
// "@" both work, "%2B" is "+") and compared case-insensitively.
func (e *Emulator) userByEmail(c *call) {
	if !c.token.Admin {
		c.problem(http.StatusForbidden, "Forbidden", "Looking users up by email requires admin permissions.")
		return
	}
	email := strings.TrimSpace(unescape(c.args[0]))
	e.answerUser(c, func() *SeedUser {
		for _, id := range slices.Sorted(maps.Keys(e.users)) {
			if u := e.users[id]; u.Email != "" && strings.EqualFold(u.Email, email) {
				return u
			}
		}
		return nil
	})
}

func (e *Emulator) answerUser(c *call, find func() *SeedUser) {
	e.mu.Lock()
	u := find()
	var out userDetailsJSON
	if u != nil {
		out = c.userDetails(u)
	}
	e.mu.Unlock()
	if u == nil {
		c.notFound("User not found")
		return
	}
	c.json(http.StatusOK, out)
}

// usersByExternalID answers an array, empty when nobody has that id.
func (e *Emulator) usersByExternalID(c *call) {
	ext := unescape(c.args[0])
	e.mu.Lock()
	out := []userJSON{}
	for _, id := range slices.Sorted(maps.Keys(e.users)) {
		if u := e.users[id]; u.ExternalID != nil && *u.ExternalID == ext {
			out = append(out, c.user(u))
		}
	}
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}
