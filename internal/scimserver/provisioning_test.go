package scimserver

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// TestEntraIDSequence replays the requests Microsoft Entra ID's
// provisioning service sends to a SCIM app (Microsoft's "Develop a SCIM
// endpoint" request/response examples), checking each response.
func TestEntraIDSequence(t *testing.T) {
	rc := newReceiver(t)

	// Create User.
	r := rc.must(201, "POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName": "Test_User_ab6490ee@testuser.com",
		"active": true,
		"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
		"meta": {"resourceType": "User"},
		"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles": [],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations"}
	}`)
	uid := str(r.body, "id")
	if uid == "" || str(r.body, "userName") != "Test_User_ab6490ee@testuser.com" || str(r.body, "meta", "resourceType") != "User" {
		t.Fatalf("create user response: %s", r.raw)
	}
	if loc := r.header.Get("Location"); loc != rc.base+"/Users/"+uid || str(r.body, "meta", "location") != loc {
		t.Errorf("Location %q, meta.location %q", loc, str(r.body, "meta", "location"))
	}
	if str(r.body, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department") != "Tour Operations" {
		t.Errorf("enterprise extension lost: %s", r.raw)
	}
	if schemas := r.body["schemas"].([]any); len(schemas) != 2 {
		t.Errorf("schemas = %v, want core and enterprise", schemas)
	}

	// A second user with the same userName (any case) is a conflict.
	wantError(t, rc.do("POST", "/Users", `{"userName": "test_user_AB6490EE@testuser.com"}`), 409, "uniqueness")

	// Get User, Get User by query, by query with zero results.
	r = rc.must(200, "GET", "/Users/"+uid, "")
	if str(r.body, "externalId") != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" {
		t.Errorf("get user: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`userName eq "Test_User_ab6490ee@testuser.com"`), "")
	if listTotal(t, r) != 1 || str(resources(r)[0], "id") != uid {
		t.Errorf("filter by userName: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`userName eq "non-existent user"`), "")
	if listTotal(t, r) != 0 || len(resources(r)) != 0 {
		t.Errorf("filter with no match: %s", r.raw)
	}
	rc.must(404, "GET", "/Users/5171a35d82074e068ce2", "")

	// Update User [Multi-valued properties], then [Single-valued properties].
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
		{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]}`)
	if emails := r.body["emails"].([]any); len(emails) != 1 || str(emails[0].(object), "value") != "updatedEmail@microsoft.com" {
		t.Errorf("emails after patch: %v", r.body["emails"])
	}
	if str(r.body, "name", "familyName") != "updatedFamilyName" || str(r.body, "name", "givenName") != "givenName" {
		t.Errorf("name after patch: %v", r.body["name"])
	}
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}]}`)
	if str(r.body, "userName") != "5b50642d@testuser.com" {
		t.Errorf("userName after patch: %s", r.raw)
	}
	// Entra ID's no-path form, with a boolean sent as a string.
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "value": {"displayName": "Updated Name", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops"}}]}`)
	if str(r.body, "displayName") != "Updated Name" || str(r.body, enterpriseSchema, "department") != "Ops" {
		t.Errorf("no-path replace: %s", r.raw)
	}

	// A second user, to be a group member and then disabled.
	r = rc.must(201, "POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "second@testuser.com", "active": true,
		"emails": [{"type": "work", "value": "Second@TestUser.com", "primary": true}]}`)
	uid2 := str(r.body, "id")

	// Create Group; Get Group (excluding members); Get Group by displayName.
	r = rc.must(201, "POST", "/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName", "meta": {"resourceType": "Group"}}`)
	gid := str(r.body, "id")
	if gid == "" || str(r.body, "meta", "resourceType") != "Group" || str(r.body, "displayName") != "displayName" {
		t.Fatalf("create group: %s", r.raw)
	}
	wantError(t, rc.do("POST", "/Groups", `{"displayName": "DISPLAYNAME"}`), 409, "uniqueness")
	r = rc.must(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", "")
	if _, has := r.body["members"]; has || str(r.body, "displayName") != "displayName" {
		t.Errorf("get group excluding members: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "displayName"`), "")
	if listTotal(t, r) != 1 || str(resources(r)[0], "id") != gid {
		t.Errorf("group by displayName: %s", r.raw)
	}

	// Update Group [Attributes]: rename.
	rc.must(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName"}]}`)
	// Update Group [Add Members], twice (the second is a no-op), then one more.
	for range 2 {
		rc.must(204, "PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
			{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}]}]}`, uid))
	}
	rc.must(204, "PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Add", "path": "members", "value": [{"value": %q}]}]}`, uid2))
	r = rc.must(200, "GET", "/Groups/"+gid, "")
	if got := memberValues(r.body); !slices.Equal(got, []string{uid, uid2}) || str(r.body, "displayName") != "1879db59updatedDisplayName" {
		t.Errorf("group after rename and adds: %s", r.raw)
	}
	// The group is found by its new name, case-insensitively, and by member.
	r = rc.must(200, "GET", "/Groups?filter="+q(`displayName eq "1879DB59UPDATEDDISPLAYNAME" and members.value eq "`+uid2+`"`), "")
	if listTotal(t, r) != 1 {
		t.Errorf("filter with and: %s", r.raw)
	}
	// Membership check by value path, as provisioning clients query it.
	for member, want := range map[string]int{uid: 1, "someone-else": 0} {
		r = rc.must(200, "GET", "/Groups?attributes=id&filter="+q(`id eq "`+gid+`" and members[value eq "`+member+`"]`), "")
		if listTotal(t, r) != want {
			t.Errorf("membership query for %s: %s", member, r.raw)
		}
	}

	// Disable User (boolean as a string, as Entra ID's older requests send).
	r = rc.must(200, "PATCH", "/Users/"+uid2, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "active", "value": "False"}]}`)
	if r.body["active"] != false {
		t.Errorf("active after disable: %v", r.body["active"])
	}

	// The directory as the engine sees it: the disabled user is no member.
	dir := readSource(t, rc)
	g := dir.Group("1879db59updatedDisplayName")
	if g == nil || g.Err != nil || !slices.Equal(g.Members, []string{uid}) {
		t.Fatalf("directory group = %+v", g)
	}
	if u := dir.Users[uid]; u == nil || !slices.Equal(u.Emails, []string{"updatedemail@microsoft.com"}) || u.Name != "Updated Name" {
		t.Errorf("directory user = %+v", dir.Users[uid])
	}

	// A sync creates the Teams group with the active member only: Teams
	// knows the first user by the address Entra ID patched in; the second
	// has a Teams account too but is disabled.
	tr := newTeamsRig(t, rc, []emulator.SeedUser{
		{ID: 11, Name: "Test User", Email: "UpdatedEmail@microsoft.com"},
		{ID: 12, Name: "Second", Email: "second@testuser.com"},
	}, config.Mapping{Source: "entra", From: "1879db59updatedDisplayName", To: "Entra Group", AllowEmpty: true})
	tr.sync()
	if got := tr.members("Entra Group"); !slices.Equal(got, []int{11}) {
		t.Fatalf("Teams group after the first sync: %v, want [11]", got)
	}

	// Update Group [Remove Members] in Entra ID's value-array form.
	rc.must(204, "PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": %q}]}]}`, uid))
	r = rc.must(200, "GET", "/Groups/"+gid, "")
	if got := memberValues(r.body); !slices.Equal(got, []string{uid2}) {
		t.Errorf("members after remove: %v", got)
	}
	tr.sync()
	if got := tr.members("Entra Group"); len(got) != 0 {
		t.Errorf("Teams group after the removal: %v, want empty (allow_empty)", got)
	}

	// Delete User leaves the group too; Delete Group.
	rc.must(204, "DELETE", "/Users/"+uid2, "")
	rc.must(404, "GET", "/Users/"+uid2, "")
	r = rc.must(200, "GET", "/Groups/"+gid, "")
	if got := memberValues(r.body); len(got) != 0 {
		t.Errorf("members after the user's deletion: %v", got)
	}
	rc.must(204, "DELETE", "/Groups/"+gid, "")
	wantError(t, rc.do("DELETE", "/Groups/"+gid, ""), 404, "")
	if dir := readSource(t, rc); dir.Group("1879db59updatedDisplayName") != nil || len(dir.Users) != 1 {
		t.Errorf("directory after deletes: %d users, %d groups", len(dir.Users), len(dir.Groups))
	}
	if rc.changes.Load() < 10 {
		t.Errorf("onChange called %d times", rc.changes.Load())
	}
}

// TestOktaSequence replays Okta's SCIM 2.0 provisioning requests (Okta's
// "SCIM 2.0 protocol reference" examples): lookup before create, PUT to
// update, deactivate by PATCH without path, group push with rename and
// member changes by members[value eq ...].
func TestOktaSequence(t *testing.T) {
	rc := newReceiver(t)

	r := rc.must(200, "GET", "/Users?filter="+q(`userName eq "test.user@okta.local"`)+"&startIndex=1&count=100", "")
	if listTotal(t, r) != 0 {
		t.Fatalf("lookup before create: %s", r.raw)
	}
	r = rc.must(201, "POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName": "test.user@okta.local", "name": {"givenName": "Test", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": [], "password": "1mz050nq", "active": true}`)
	uid := str(r.body, "id")
	if _, has := r.body["password"]; has {
		t.Error("password echoed back")
	}
	r = rc.must(200, "GET", "/Users/"+uid, "")
	if str(r.body, "locale") != "en-US" {
		t.Errorf("get user: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`externalId eq "00ujl29u0le5T6Aj10h7"`), "")
	if listTotal(t, r) != 1 {
		t.Errorf("by externalId: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`externalId eq "00UJL29U0LE5T6AJ10H7"`), "")
	if listTotal(t, r) != 0 {
		t.Errorf("externalId must compare case-exactly: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`emails.value eq "TEST.USER@okta.local"`), "")
	if listTotal(t, r) != 1 {
		t.Errorf("by emails.value: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`id eq "`+uid+`"`), "")
	if listTotal(t, r) != 1 {
		t.Errorf("by id: %s", r.raw)
	}

	// Okta updates a user with PUT (a full replace).
	r = rc.must(200, "PUT", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "`+uid+`",
		"userName": "test.user@okta.local", "name": {"givenName": "Another", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}, {"value": "alias@okta.local", "type": "other"}],
		"displayName": "Another User", "active": true, "meta": {"resourceType": "User"}}`)
	if str(r.body, "displayName") != "Another User" || str(r.body, "locale") != "" || str(r.body, "id") != uid {
		t.Errorf("after PUT: %s", r.raw)
	}
	rc.must(404, "PUT", "/Users/no-such-id", `{"userName": "x"}`)

	// Group push.
	r = rc.must(201, "POST", "/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []}`)
	gid := str(r.body, "id")
	r = rc.must(200, "GET", "/Groups?filter="+q(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", "")
	if listTotal(t, r) != 1 {
		t.Fatalf("group lookup: %s", r.raw)
	}
	rc.must(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "replace", "value": {"id": "`+gid+`", "displayName": "Test SCIMv2 renamed"}}]}`)
	rc.must(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "add", "path": "members", "value": [{"value": "`+uid+`", "display": "test.user@okta.local"}]}]}`)
	dir := readSource(t, rc)
	g := dir.Group("Test SCIMv2 renamed")
	if g == nil || !slices.Equal(g.Members, []string{uid}) {
		t.Fatalf("directory group = %+v", g)
	}
	if u := dir.Users[uid]; !slices.Equal(u.Emails, []string{"test.user@okta.local", "alias@okta.local"}) {
		t.Errorf("emails = %v", u.Emails)
	}
	tr := newTeamsRig(t, rc, []emulator.SeedUser{{ID: 21, Name: "Test User", Email: "alias@okta.local"}},
		config.Mapping{Source: "entra", From: "Test SCIMv2 renamed", To: "Okta Group", AllowEmpty: true})
	tr.sync()
	if got := tr.members("Okta Group"); !slices.Equal(got, []int{21}) {
		t.Fatalf("Teams group after the first sync: %v, want [21] (matched by the second address)", got)
	}
	rc.must(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "remove", "path": "members[value eq \"`+uid+`\"]"}]}`)
	r = rc.must(200, "GET", "/Groups/"+gid, "")
	if len(memberValues(r.body)) != 0 {
		t.Errorf("after remove: %s", r.raw)
	}
	tr.sync()
	if got := tr.members("Okta Group"); len(got) != 0 {
		t.Errorf("Teams group after the removal: %v, want empty", got)
	}

	// Deactivate: PATCH replace without path.
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "replace", "value": {"active": false}}]}`)
	if r.body["active"] != false {
		t.Errorf("after deactivate: %s", r.raw)
	}
	if dir := readSource(t, rc); len(dir.Users) != 0 {
		t.Errorf("deactivated user still in the directory")
	}
	rc.must(204, "DELETE", "/Groups/"+gid, "")
}

func readSource(tb testing.TB, rc *receiver) *directory.Directory {
	tb.Helper()
	src, err := NewSource("entra", rc.stateDir)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := src.Read(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}
