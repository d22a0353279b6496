package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// group renders UserGroupResponseModel with every member. Called with
// e.mu held.
func (e *Emulator) group(c *call, g *SeedGroup) groupJSON {
	out := groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, Users: make([]userSummaryJSON, 0, len(g.UserIDs))}
	for _, id := range g.UserIDs {
		if u, ok := e.users[id]; ok {
			out.Users = append(out.Users, c.summary(u))
		}
	}
	return out
}

func (e *Emulator) listGroups(c *call) {
	p, ok := c.readPaging([]string{"name", "size"}, "asc")
	if !ok {
		return
	}
	e.mu.Lock()
	all := sortGroups(e.groups, c.team, p)
	out := pageOf(all, p, e.opt.EmptyTotalPages, func(g *SeedGroup) groupJSON { return e.group(c, g) })
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

// sortGroups orders groups by name (case-insensitive) or size, ties
// broken by name then id, so pages are stable.
func sortGroups(groups map[int]*SeedGroup, team string, p paging) []*SeedGroup {
	type keyed struct {
		name string
		g    *SeedGroup
	}
	ks := make([]keyed, 0, len(groups))
	for _, g := range groups {
		if sameTeam(g.Team, team) {
			ks = append(ks, keyed{strings.ToLower(g.Name), g})
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if p.order == "desc" {
			a, b = b, a
		}
		if p.sort == "size" && len(a.g.UserIDs) != len(b.g.UserIDs) {
			return cmp.Compare(len(a.g.UserIDs), len(b.g.UserIDs))
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.g.ID, b.g.ID)
	})
	out := make([]*SeedGroup, len(ks))
	for i, k := range ks {
		out[i] = k.g
	}
	return out
}

func (e *Emulator) getGroup(c *call) {
	if id, ok := c.pathID(0, "userGroupId"); ok {
		e.answerGroup(c, id, nil, nil)
	}
}

// answerGroup applies change (nil: none) to group id, provided the group
// and every user in userIDs exist, and answers 200 with the group; else
// 404 and nothing changes.
func (e *Emulator) answerGroup(c *call, id int, userIDs []int, change func(g *SeedGroup)) {
	e.mu.Lock()
	g, found := e.groupOf(c, id)
	missing := e.missingUsers(userIDs)
	var out groupJSON
	if found {
		if missing == nil && change != nil {
			change(g)
		}
		out = e.group(c, g)
	}
	e.mu.Unlock()
	switch {
	case !found:
		c.notFound("User group not found")
	case missing != nil:
		e.userNotFound(c, missing)
	default:
		c.json(http.StatusOK, out)
	}
}

// groupRequest is UserGroupRequestModel after binding.
type groupRequest struct {
	name, description string
	userIDs           []int
}

// readGroupRequest binds UserGroupRequestModel: name required (minLength
// 1); description and userIds optional, absent or null meaning empty.
func (c *call) readGroupRequest() (groupRequest, bool) {
	v, body, ok := c.readBody()
	if !ok {
		return groupRequest{}, false
	}
	obj, isObj := asObject(v, body)
	if !isObj {
		c.badRequest("The request body must be a JSON object (UserGroupRequestModel).")
		return groupRequest{}, false
	}
	var r groupRequest
	var errs []string
	name, present, err := obj.str("name")
	switch {
	case err != nil:
		errs = append(errs, err.Error())
	case !present || name == "":
		errs = append(errs, "name: the Name field is required.")
	}
	r.name = name
	if r.description, _, err = obj.str("description"); err != nil {
		errs = append(errs, err.Error())
	}
	ids, _ := obj.get("userIds")
	if r.userIDs, err = idList(ids, "userIds"); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		c.badRequest(strings.Join(errs, "; "))
		return r, false
	}
	r.userIDs = dedupe(r.userIDs)
	return r, true
}

// missingUsers returns the ids that name no user. Called with e.mu held.
func (e *Emulator) missingUsers(ids []int) []string {
	var missing []string
	for _, id := range ids {
		if _, ok := e.users[id]; !ok {
			missing = append(missing, strconv.Itoa(id))
		}
	}
	return missing
}

// userNotFound refuses a write naming users that do not exist, with the
// status Options.UnknownUserStatus.
func (e *Emulator) userNotFound(c *call, missing []string) {
	if e.opt.UnknownUserStatus == http.StatusBadRequest {
		c.badRequest(fmt.Sprintf("User %s not found", strings.Join(missing, ", ")))
		return
	}
	c.notFound(fmt.Sprintf("User not found: %s", strings.Join(missing, ", ")))
}

// createGroup answers 201 with the group. Names need not be unique (the
// real API does not promise it; clients guard against duplicates). An
// unknown user id is 404 and nothing is created.
func (e *Emulator) createGroup(c *call) {
	req, ok := c.readGroupRequest()
	if !ok {
		return
	}
	e.mu.Lock()
	if missing := e.missingUsers(req.userIDs); missing != nil {
		e.mu.Unlock()
		e.userNotFound(c, missing)
		return
	}
	e.nextGroupID++
	g := &SeedGroup{ID: e.nextGroupID, Team: c.team, Name: req.name, Description: req.description, UserIDs: req.userIDs}
	e.groups[g.ID] = g
	out := e.group(c, g)
	e.mu.Unlock()
	c.w.Header().Set("Location", fmt.Sprintf("%s/user-groups/%d", c.base, g.ID))
	c.json(http.StatusCreated, out)
}

// replaceGroup is PUT: a full replacement. An omitted description or
// userIds clears it, as the real service does (REFERENCE §5.2, §9.1).
func (e *Emulator) replaceGroup(c *call) {
	id, ok := c.pathID(0, "userGroupId")
	if !ok {
		return
	}
	req, ok := c.readGroupRequest()
	if !ok {
		return
	}
	e.answerGroup(c, id, req.userIDs, func(g *SeedGroup) {
		g.Name, g.Description, g.UserIDs = req.name, req.description, req.userIDs
	})
}

// readIDArray binds a bare JSON array of ids (numbers or numeric strings).
func (c *call) readIDArray(what string) ([]int, bool) {
	v, _, ok := c.readBody()
	if !ok {
		return nil, false
	}
	if _, isArr := v.([]any); !isArr {
		c.badRequest(fmt.Sprintf("The request body must be a JSON array of %s.", what))
		return nil, false
	}
	ids, err := idList(v, what)
	if err != nil {
		c.badRequest(err.Error())
		return nil, false
	}
	return dedupe(ids), true
}

// addMembers adds users; existing members are not duplicated; an unknown
// user id is 404 and nothing changes.
func (e *Emulator) addMembers(c *call) {
	id, ok := c.pathID(0, "userGroupId")
	if !ok {
		return
	}
	ids, ok := c.readIDArray("userIds")
	if !ok {
		return
	}
	e.mu.Lock()
	ids = e.ignoreUnknownUsers(ids)
	e.mu.Unlock()
	e.answerGroup(c, id, ids, func(g *SeedGroup) { g.UserIDs = union(g.UserIDs, ids) })
}

// ignoreUnknownUsers drops the unknown user ids of an add when
// Options.UnknownUserStatus is 200: the third reading REFERENCE.md §9.5
// leaves open, an API that ignores them and answers 200. Called with e.mu
// held.
func (e *Emulator) ignoreUnknownUsers(ids []int) []int {
	if e.opt.UnknownUserStatus != http.StatusOK {
		return ids
	}
	return slices.DeleteFunc(slices.Clone(ids), func(id int) bool { _, ok := e.users[id]; return !ok })
}

// removeMember answers 200 with the group (the spec), or 204 when so
// configured. A user who is not a member is 404 "User group or user not
// found": the emulator takes the strict reading, so a client that retries
// a delete must treat that 404 as done.
func (e *Emulator) removeMember(c *call) {
	gid, ok := c.pathID(0, "userGroupId")
	if !ok {
		return
	}
	uid, ok := c.pathID(1, "userId")
	if !ok {
		return
	}
	e.mu.Lock()
	g, found := e.groupOf(c, gid)
	var out groupJSON
	if found {
		if i := slices.Index(g.UserIDs, uid); i >= 0 {
			g.UserIDs = slices.Delete(g.UserIDs, i, i+1)
		} else {
			found = false
		}
	}
	if found {
		out = e.group(c, g)
	}
	e.mu.Unlock()
	switch {
	case !found:
		c.notFound("User group or user not found")
	case e.opt.DeleteMemberStatus == http.StatusNoContent:
		c.w.WriteHeader(http.StatusNoContent)
	default:
		c.json(http.StatusOK, out)
	}
}
