package emulator

// Response bodies, named and ordered as in openapi.json
// (components.schemas). Kept apart from the client's models on purpose.

type userSummaryJSON struct {
	ID         int    `json:"id"`
	AccountID  *int   `json:"accountId"`
	Name       string `json:"name"`
	AvatarURL  string `json:"avatarUrl"`
	WebURL     string `json:"webUrl"`
	Reputation int    `json:"reputation"`
	Role       string `json:"role"`
}

// userJSON is UserResponseModel.
type userJSON struct {
	ExternalID *string `json:"externalId"`
	Department *string `json:"department"`
	JobTitle   *string `json:"jobTitle"`
	Email      *string `json:"email"`
	userSummaryJSON
}

// userDetailsJSON is UserDetailsResponseModel. The emulator has no
// communities, so the list is always empty.
type userDetailsJSON struct {
	Communities []struct{} `json:"communities"`
	userJSON
}

// groupJSON is UserGroupResponseModel.
type groupJSON struct {
	ID          int               `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Users       []userSummaryJSON `json:"users"`
}

// tagSummaryJSON is TagSummaryResponseModel.
type tagSummaryJSON struct {
	ID                       int    `json:"id"`
	Name                     string `json:"name"`
	Description              string `json:"description"`
	PostCount                int    `json:"postCount"`
	SubjectMatterExpertCount *int   `json:"subjectMatterExpertCount"`
	WatcherCount             int    `json:"watcherCount"`
	CreationDate             string `json:"creationDate"`
	HasSynonyms              bool   `json:"hasSynonyms"`
	WebURL                   string `json:"webUrl"`
}

// tagJSON is TagResponseModel.
type tagJSON struct {
	SubjectMatterExperts smesJSON `json:"subjectMatterExperts"`
	tagSummaryJSON
}

// smesJSON is SubjectMatterExpertResponseModel.
type smesJSON struct {
	Users      []userSummaryJSON `json:"users"`
	UserGroups []groupJSON       `json:"userGroups"`
}

// pageJSON is the Paginated* envelope.
type pageJSON[T any] struct {
	TotalCount int    `json:"totalCount"`
	PageSize   int    `json:"pageSize"`
	Page       int    `json:"page"`
	TotalPages int    `json:"totalPages"`
	Sort       string `json:"sort"`
	Order      string `json:"order"`
	Items      []T    `json:"items"`
}

// problemJSON is ProblemDetails (RFC 7807) as ASP.NET writes it.
type problemJSON struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
}
