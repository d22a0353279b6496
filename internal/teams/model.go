package teams

// The JSON models of API v3 that syncd uses, named and typed as in the
// official OpenAPI document (openapi.json, components.schemas).

// UserSummary is UserSummaryResponseModel: a member of a group or an SME.
type UserSummary struct {
	ID         int    `json:"id"`
	AccountID  *int   `json:"accountId"`
	Name       string `json:"name"`
	AvatarURL  string `json:"avatarUrl"`
	WebURL     string `json:"webUrl"`
	Reputation int    `json:"reputation"`
	Role       string `json:"role"`
}

// User is UserResponseModel (items of GET /users) and, with Communities
// ignored, UserDetailsResponseModel (GET /users/{id}, /me, /by-email).
type User struct {
	UserSummary
	ExternalID *string `json:"externalId"`
	Department *string `json:"department"`
	JobTitle   *string `json:"jobTitle"`
	// Email is null unless the token belongs to an admin (or is the user's own).
	Email *string `json:"email"`
}

// UserGroup is UserGroupResponseModel; list items carry every member.
type UserGroup struct {
	ID          int           `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Users       []UserSummary `json:"users"`
}

// UserGroupRequest is UserGroupRequestModel, the body of POST and PUT
// /user-groups. PUT is a full replacement: every field must be sent.
type UserGroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	UserIDs     []int  `json:"userIds"`
}

// Tag is TagSummaryResponseModel; GET /tags/{id} adds SubjectMatterExperts.
type Tag struct {
	ID                       int    `json:"id"`
	Name                     string `json:"name"`
	Description              string `json:"description"`
	PostCount                int    `json:"postCount"`
	SubjectMatterExpertCount *int   `json:"subjectMatterExpertCount"` // null: SMEs disabled
	WatcherCount             int    `json:"watcherCount"`
	CreationDate             string `json:"creationDate"` // opaque: real zone format unknown
	HasSynonyms              bool   `json:"hasSynonyms"`
	WebURL                   string `json:"webUrl"`
	SubjectMatterExperts     *SMEs  `json:"subjectMatterExperts,omitempty"`
}

// SMEs is SubjectMatterExpertResponseModel as a sync uses it: the SME
// users' ids and names, and the SME groups as rosters. Each answer carries
// every SME group with all its members; read as UserSummary models, the
// SMEs of the 500 tags of a large site were a quarter of what a steady run
// allocated. Either is nil when the answer had none (null).
type SMEs struct {
	Users      Members
	UserGroups []Roster
}

// SMERequest is SubjectMatterExpertRequestModel, the body of PUT
// /tags/{id}/subject-matter-experts (a full replacement of both lists).
type SMERequest struct {
	UserIDs      []int `json:"userIds"`
	UserGroupIDs []int `json:"userGroupIds"`
}

// ProblemDetails is the RFC 7807 error body of 400, 403, 404, 422 and 429.
type ProblemDetails struct {
	Type     *string `json:"type"`
	Title    *string `json:"title"`
	Status   *int    `json:"status"`
	Detail   *string `json:"detail"`
	Instance *string `json:"instance"`
}

// Page is the paging envelope of every list endpoint.
type Page[T any] struct {
	TotalCount int    `json:"totalCount"`
	PageSize   int    `json:"pageSize"`
	Page       int    `json:"page"`
	TotalPages int    `json:"totalPages"`
	Sort       string `json:"sort"`
	Order      string `json:"order"`
	Items      []T    `json:"items"`
}
