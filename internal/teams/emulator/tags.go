package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tagEpoch dates the tags: the seed has no creation dates, so a tag's is
// derived from its id (stable across runs).
var tagEpoch = time.Date(2021, 3, 1, 9, 0, 0, 0, time.UTC)

func tagCreated(t *SeedTag) time.Time { return tagEpoch.Add(time.Duration(t.ID) * 24 * time.Hour) }

// smeCount is subjectMatterExpertCount: "individual SMEs assigned, plus
// the members of any SME groups". A person who is both, or in two SME
// groups, counts once: the spec speaks of "individual users". Called with
// e.mu held.
func (e *Emulator) smeCount(t *SeedTag) int {
	seen := map[int]bool{}
	for _, id := range t.SMEUserIDs {
		seen[id] = true
	}
	for _, gid := range t.SMEGroupIDs {
		if g, ok := e.groups[gid]; ok {
			for _, id := range g.UserIDs {
				seen[id] = true
			}
		}
	}
	return len(seen)
}

func (e *Emulator) hasSMEs(t *SeedTag) bool {
	return e.sme && (len(t.SMEUserIDs) > 0 || len(t.SMEGroupIDs) > 0)
}

// tagSummary renders TagSummaryResponseModel; the SME count is null when
// the site's SME feature is off. Called with e.mu held.
func (e *Emulator) tagSummary(c *call, t *SeedTag) tagSummaryJSON {
	var count *int
	if e.sme {
		n := e.smeCount(t)
		count = &n
	}
	return tagSummaryJSON{
		ID:                       t.ID,
		Name:                     t.Name,
		Description:              t.Description,
		PostCount:                t.PostCount,
		SubjectMatterExpertCount: count,
		CreationDate:             tagCreated(t).Format(time.RFC3339),
		WebURL:                   c.siteURL() + "/questions/tagged/" + url.PathEscape(t.Name),
	}
}

// smes renders SubjectMatterExpertResponseModel. Called with e.mu held.
func (e *Emulator) smes(c *call, t *SeedTag) smesJSON {
	out := smesJSON{Users: []userSummaryJSON{}, UserGroups: []groupJSON{}}
	if !e.sme {
		return out
	}
	for _, id := range t.SMEUserIDs {
		if u, ok := e.users[id]; ok {
			out.Users = append(out.Users, c.summary(u))
		}
	}
	for _, id := range t.SMEGroupIDs {
		if g, ok := e.groups[id]; ok {
			out.UserGroups = append(out.UserGroups, e.group(c, g))
		}
	}
	return out
}

func (e *Emulator) listTags(c *call) {
	p, ok := c.readPaging([]string{"name", "postCount", "creationDate"}, "asc")
	if !ok {
		return
	}
	partial, _ := c.query("partialName")
	hasSMEs, ok := c.boolQuery("hasSmes")
	if !ok {
		return
	}
	hasSyn, ok := c.boolQuery("hasSynonyms")
	if !ok {
		return
	}
	e.mu.Lock()
	var all []*SeedTag
	for _, id := range slices.Sorted(maps.Keys(e.tags)) {
		t := e.tags[id]
		if !sameTeam(t.Team, c.team) {
			continue
		}
		if partial != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(partial)) {
			continue
		}
		if hasSMEs != nil && e.hasSMEs(t) != *hasSMEs {
			continue
		}
		if hasSyn != nil && *hasSyn { // the emulator has no synonyms
			continue
		}
		all = append(all, t)
	}
	e.mu.Unlock()
	sortTags(all, p)
	e.answerTags(c, p, all)
}

func sortTags(all []*SeedTag, p paging) {
	cmp := func(a, b *SeedTag) int {
		switch p.sort {
		case "postCount":
			return a.PostCount - b.PostCount
		case "creationDate":
			return tagCreated(a).Compare(tagCreated(b))
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	slices.SortStableFunc(all, func(a, b *SeedTag) int {
		if p.order == "desc" {
			return cmp(b, a)
		}
		return cmp(a, b)
	})
}

func (e *Emulator) answerTags(c *call, p paging, all []*SeedTag) {
	e.mu.Lock()
	out := pageOf(all, p, e.opt.EmptyTotalPages, func(t *SeedTag) tagSummaryJSON { return e.tagSummary(c, t) })
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

// boolQuery parses an optional boolean query parameter (nil when absent).
func (c *call) boolQuery(name string) (*bool, bool) {
	v, ok := c.query(name)
	if !ok || v == "" {
		return nil, true
	}
	// ASP.NET binds booleans with bool.TryParse: "true" or "false", any case.
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		b := true
		return &b, true
	case "false":
		b := false
		return &b, true
	}
	c.badRequest(fmt.Sprintf("The value '%s' is not valid for %s: use true or false.", v, name))
	return nil, false
}

func (e *Emulator) getTag(c *call) {
	id, ok := c.pathID(0, "tagId")
	if !ok {
		return
	}
	e.mu.Lock()
	t, found := e.tagOf(c, id)
	var out tagJSON
	if found {
		out = tagJSON{SubjectMatterExperts: e.smes(c, t), tagSummaryJSON: e.tagSummary(c, t)}
	}
	e.mu.Unlock()
	if !found {
		c.notFound("Tag not found")
		return
	}
	c.json(http.StatusOK, out)
}

// smeTag finds the tag of an SME operation (after smeEnabled): 400 for a
// bad id, 404 for an unknown tag. On success e.mu is held and the caller
// must unlock it.
func (e *Emulator) smeTag(c *call) (*SeedTag, bool) {
	id, ok := c.pathID(0, "tagId")
	if !ok {
		return nil, false
	}
	e.mu.Lock()
	t, found := e.tagOf(c, id)
	if !found {
		e.mu.Unlock()
		c.notFound("Tag not found")
		return nil, false
	}
	return t, true
}

func (e *Emulator) getSMEs(c *call) {
	if !e.smeEnabled(c) {
		return
	}
	t, ok := e.smeTag(c)
	if !ok {
		return
	}
	out := e.smes(c, t)
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

// missingGroups returns the ids that name no group. Called with e.mu held.
func (e *Emulator) missingGroups(c *call, ids []int) []string {
	var missing []string
	for _, id := range ids {
		if _, ok := e.groupOf(c, id); !ok {
			missing = append(missing, strconv.Itoa(id))
		}
	}
	return missing
}

// changeSMEs validates the ids, applies change and answers the new SME
// lists; an unknown id is 404 and nothing changes. Called with e.mu held
// (from smeTag); it unlocks.
func (e *Emulator) changeSMEs(c *call, t *SeedTag, userIDs, groupIDs []int, change func()) {
	mu, mg := e.missingUsers(userIDs), e.missingGroups(c, groupIDs)
	if mu != nil || mg != nil {
		e.mu.Unlock()
		if mu != nil {
			e.userNotFound(c, mu)
		} else {
			c.notFound("User group not found: " + strings.Join(mg, ", "))
		}
		return
	}
	change()
	out := e.smes(c, t)
	e.mu.Unlock()
	c.json(http.StatusOK, out)
}

// replaceSMEs is PUT: both lists are replaced; an omitted list is empty.
func (e *Emulator) replaceSMEs(c *call) {
	if !e.smeEnabled(c) {
		return
	}
	v, body, ok := c.readBody()
	if !ok {
		return
	}
	obj, isObj := asObject(v, body)
	if !isObj {
		c.badRequest("The request body must be a JSON object (SubjectMatterExpertRequestModel).")
		return
	}
	rawU, _ := obj.get("userIds")
	rawG, _ := obj.get("userGroupIds")
	users, err1 := idList(rawU, "userIds")
	groups, err2 := idList(rawG, "userGroupIds")
	if err1 != nil || err2 != nil {
		c.badRequest(nonNil(err1, err2).Error())
		return
	}
	t, ok := e.smeTag(c)
	if !ok {
		return
	}
	users, groups = dedupe(users), dedupe(groups)
	e.changeSMEs(c, t, users, groups, func() { t.SMEUserIDs, t.SMEGroupIDs = users, groups })
}

func nonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// smeEnabled answers 422 when SMEs are off: checked first, before the
// body and the ids, as the spec lists it on every SME operation.
func (e *Emulator) smeEnabled(c *call) bool {
	e.mu.Lock()
	on := e.sme
	e.mu.Unlock()
	if !on {
		c.problem(http.StatusUnprocessableEntity, "Subject matter experts feature not enabled",
			"Subject matter experts are not enabled on this site.")
	}
	return on
}

func (e *Emulator) addSMEUsers(c *call)  { e.addSMEs(c, "userIds") }
func (e *Emulator) addSMEGroups(c *call) { e.addSMEs(c, "userGroupIds") }

// addSMEs adds users (field "userIds") or user groups ("userGroupIds"),
// sent as a bare array of ids, to a tag's SMEs, keeping the others.
func (e *Emulator) addSMEs(c *call, field string) {
	if !e.smeEnabled(c) {
		return
	}
	ids, ok := c.readIDArray(field)
	if !ok {
		return
	}
	t, ok := e.smeTag(c)
	if !ok {
		return
	}
	if field == "userIds" {
		ids = e.ignoreUnknownUsers(ids)
		e.changeSMEs(c, t, ids, nil, func() { t.SMEUserIDs = union(t.SMEUserIDs, ids) })
		return
	}
	e.changeSMEs(c, t, nil, ids, func() { t.SMEGroupIDs = union(t.SMEGroupIDs, ids) })
}

func union(have, add []int) []int {
	out := slices.Clone(have)
	for _, id := range add {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// removeSMEUser answers 204. Removing someone who is not an SME is a
// no-op 204: the spec lists no 404 for this operation.
func (e *Emulator) removeSMEUser(c *call) {
	e.removeSME(c, "userId", func(t *SeedTag, id int) { t.SMEUserIDs = without(t.SMEUserIDs, id) })
}

func (e *Emulator) removeSMEGroup(c *call) {
	e.removeSME(c, "userGroupId", func(t *SeedTag, id int) { t.SMEGroupIDs = without(t.SMEGroupIDs, id) })
}

func (e *Emulator) removeSME(c *call, param string, remove func(*SeedTag, int)) {
	if !e.smeEnabled(c) {
		return
	}
	id, ok := c.pathID(1, param)
	if !ok {
		return
	}
	t, ok := e.smeTag(c)
	if !ok {
		return
	}
	remove(t, id)
	e.mu.Unlock()
	c.w.WriteHeader(http.StatusNoContent)
}

func without(ids []int, id int) []int {
	return slices.DeleteFunc(slices.Clone(ids), func(x int) bool { return x == id })
}
