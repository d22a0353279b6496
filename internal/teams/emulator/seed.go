package emulator

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
	SMEEnabled bool `json:"smeEnabled"`
	// Permissive lets a token with write access manage user groups and
	// SMEs without being an admin (or, for SMEs, a moderator): for demos
	// only. The real API, and the emulator by default, refuse such writes
	// with 403 (REFERENCE.md §2.2).
	Permissive bool        `json:"permissive,omitempty"`
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
	// Admin: the token's user is an admin, who may see e-mail addresses
	// and manage user groups and SMEs. Moderator: may manage SMEs.
	Admin     bool `json:"admin"`
	Moderator bool `json:"moderator,omitempty"`
	// Write: the token was issued with write access.
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
	// Deactivated: an admin deactivated the account (GET /users/manage).
	Deactivated bool `json:"isDeactivated,omitempty"`
}

// SeedGroup is a user group and its members' ids. Team is the namespace it
// lives in: "" for the site itself, else a private team's slug (each
// private team has user groups of its own, REFERENCE.md §2.1).
type SeedGroup struct {
	ID          int    `json:"id"`
	Team        string `json:"team,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description"`
	UserIDs     []int  `json:"userIds"`
}

// SeedTag is a tag with its subject-matter experts.
type SeedTag struct {
	ID          int    `json:"id"`
	Team        string `json:"team,omitempty"` // as SeedGroup.Team
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

// InTeam returns a copy of the seed whose user groups and tags all live
// in the namespace of team ("" the site itself): the same data set for a
// private team's or a Business team's base URL.
func (s Seed) InTeam(team string) *Seed {
	c := s
	c.UserGroups = make([]SeedGroup, len(s.UserGroups))
	for i, g := range s.UserGroups {
		g.UserIDs = append([]int(nil), g.UserIDs...)
		g.Team = team
		c.UserGroups[i] = g
	}
	c.Tags = make([]SeedTag, len(s.Tags))
	for i, t := range s.Tags {
		t.SMEUserIDs = append([]int(nil), t.SMEUserIDs...)
		t.SMEGroupIDs = append([]int(nil), t.SMEGroupIDs...)
		t.Team = team
		c.Tags[i] = t
	}
	return &c
}

// InProcess picks the token a client of the emulator served in-process
// (Emulator.Transport) uses, token if the seed has it, else the seed's
// first, and the base URL of that token's team on the emulator's own host.
func (s *Seed) InProcess(token string) (base, tok string) {
	tok = token
	team := ""
	for i, st := range s.Tokens {
		if (token == "" && i == 0) || st.Token == token {
			team, tok = st.Team, st.Token
			break
		}
	}
	if team == "" {
		return "http://emulator/api/v3", tok
	}
	return "http://emulator/v3/teams/" + team, tok
}
