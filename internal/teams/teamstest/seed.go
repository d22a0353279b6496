package teamstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Seed is the emulator's state in the JSON form used by seed files, by
// Snapshot and by SaveState. The same format serves tests, the quick start
// and people trying syncd locally.
type Seed struct {
	SMEEnabled bool        `json:"smeEnabled"`
	Tokens     []SeedToken `json:"tokens"`
	Users      []SeedUser  `json:"users"`
	UserGroups []SeedGroup `json:"userGroups"`
	Tags       []SeedTag   `json:"tags"`
}

// SeedToken is an access token the emulator accepts. Team "" is the
// Enterprise main site (/api/v3/...); any other value is a team slug
// (/v3/teams/{team}/... or /api/v3/teams/{team}/...).
type SeedToken struct {
	Token string `json:"token"`
	Admin bool   `json:"admin"`
	Write bool   `json:"write"`
	Team  string `json:"team"`
	// UserID is the user the token belongs to (GET /users/me). Zero picks
	// the first user in the seed.
	UserID int `json:"userId,omitempty"`
}

// SeedUser is a Teams user. Role defaults to "Registered"; AccountID
// defaults to a value derived from ID.
type SeedUser struct {
	ID         int     `json:"id"`
	AccountID  *int    `json:"accountId,omitempty"`
	Name       string  `json:"name"`
	Email      string  `json:"email"`
	ExternalID *string `json:"externalId"`
	Role       string  `json:"role"`
	Reputation int     `json:"reputation"`
	Department *string `json:"department,omitempty"`
	JobTitle   *string `json:"jobTitle,omitempty"`
}

// SeedGroup is a user group and its members' ids.
type SeedGroup struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	UserIDs     []int  `json:"userIds"`
}

// SeedTag is a tag with its subject-matter experts.
type SeedTag struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	PostCount   int    `json:"postCount,omitempty"`
	SMEUserIDs  []int  `json:"smeUserIds"`
	SMEGroupIDs []int  `json:"smeGroupIds"`
}

// LoadSeed reads and checks a seed file.
func LoadSeed(path string) (*Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, describeJSONError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("seed %s: trailing data after the JSON object", path)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	return &s, nil
}

// describeJSONError adds a line:column position to syntax and type errors.
func describeJSONError(data []byte, err error) error {
	var off int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return err
	}
	line, col := 1, 1
	for _, b := range data[:min(int(off), len(data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}
