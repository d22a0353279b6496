package teams

import (
	"encoding/json"
)

// The models every run reads in bulk (group listings and the answers of
// group writes, users, SMEs) read themselves from the scanner; the
// others go through encoding/json (decodeValue). Each follows its json
// tags exactly: a field the model gains must be read here too, which
// TestScanMatchesEncodingJSON checks.

// scanDecoder is a model that reads itself from a scanner.
type scanDecoder interface {
	scan(s *scanner) error
}

// decodeValue reads one value into v: through its own reader when it has
// one, else through encoding/json from the value's checked bytes.
func decodeValue[T any](s *scanner, v *T) error {
	if d, ok := any(v).(scanDecoder); ok {
		return d.scan(s)
	}
	raw, err := s.capture()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		err = jsonError(err)
		if s.typeErr == nil {
			s.typeErr = err
		}
	}
	return nil
}

var summaryFields = []string{"id", "accountId", "name", "avatarUrl", "webUrl", "reputation", "role"}

func (u *UserSummary) scan(s *scanner) error {
	return s.object(summaryFields, func(f int) error { return u.field(s, f) })
}

// field reads the field summaryFields[f] of a UserSummary.
func (u *UserSummary) field(s *scanner, f int) error {
	switch f {
	case 0:
		return s.readInt(&u.ID)
	case 1:
		return s.readIntPtr(&u.AccountID)
	case 2:
		return s.readString(&u.Name)
	case 3:
		return s.readString(&u.AvatarURL)
	case 4:
		return s.readString(&u.WebURL)
	case 5:
		return s.readInt(&u.Reputation)
	}
	return s.readString(&u.Role)
}

// userFields are a User's: its UserSummary's, then its own.
var userFields = append(summaryFields[:len(summaryFields):len(summaryFields)], "externalId", "department", "jobTitle", "email")

func (u *User) scan(s *scanner) error {
	own := len(summaryFields)
	return s.object(userFields, func(f int) error {
		switch f - own {
		case 0:
			return s.readStringPtr(&u.ExternalID)
		case 1:
			return s.readStringPtr(&u.Department)
		case 2:
			return s.readStringPtr(&u.JobTitle)
		case 3:
			return s.readStringPtr(&u.Email)
		}
		return u.UserSummary.field(s, f)
	})
}

var groupFields = []string{"id", "name", "description", "users"}

func (g *UserGroup) scan(s *scanner) error {
	return scanGroup(s, &g.ID, &g.Name, &g.Description, func() error { return readSlice(s, &g.Users) })
}

// Created is a user group as its create answered: its id and name.
type Created struct {
	ID   int
	Name string
}

// scan reads a create's answer. The members it lists are checked as JSON
// but not kept: a sync needs the new group's id, and the answer lists
// every member in full, 20 KB for a group of 100 (200 MB in all for the
// first run of 10,000 groups).
func (g *Created) scan(s *scanner) error {
	var description string
	return scanGroup(s, &g.ID, &g.Name, &description, s.skip)
}

// scanGroup reads a UserGroupResponseModel's id, name and description
// into place, and its users with users: a full UserGroup keeps them, a
// Roster only their ids and names.
func scanGroup(s *scanner, id *int, name, description *string, users func() error) error {
	return s.object(groupFields, func(f int) error {
		switch f {
		case 0:
			return s.readInt(id)
		case 1:
			return s.readString(name)
		case 2:
			return s.readString(description)
		}
		return users()
	})
}

var tagFields = []string{"id", "name", "description", "postCount", "subjectMatterExpertCount", "watcherCount",
	"creationDate", "hasSynonyms", "webUrl", "subjectMatterExperts"}

// scan reads a TagResponseModel: a run reads one per SME tag (500 at the
// scale syncd is measured at), each with its SME lists, which
// encoding/json would decode by reflection.
func (t *Tag) scan(s *scanner) error {
	return s.object(tagFields, func(f int) error {
		switch f {
		case 0:
			return s.readInt(&t.ID)
		case 1:
			return s.readString(&t.Name)
		case 2:
			return s.readString(&t.Description)
		case 3:
			return s.readInt(&t.PostCount)
		case 4:
			return s.readIntPtr(&t.SubjectMatterExpertCount)
		case 5:
			return s.readInt(&t.WatcherCount)
		case 6:
			return s.readString(&t.CreationDate)
		case 7:
			return s.readBool(&t.HasSynonyms)
		case 8:
			return s.readString(&t.WebURL)
		}
		return t.scanSMEs(s)
	})
}

// scanSMEs reads subjectMatterExperts: null leaves none.
func (t *Tag) scanSMEs(s *scanner) error {
	if c, err := s.peek(); err != nil || c == 'n' {
		if err == nil {
			t.SubjectMatterExperts, err = nil, s.null()
		}
		return err
	}
	m := &SMEs{}
	if err := m.scan(s); err != nil {
		return err
	}
	t.SubjectMatterExperts = m
	return nil
}

var smeFields = []string{"users", "userGroups"}

func (m *SMEs) scan(s *scanner) error {
	var r rosterReader
	return s.object(smeFields, func(f int) error {
		if f == 0 {
			return r.list(s, &m.Users)
		}
		return readSlice(s, &m.UserGroups)
	})
}

// readSlice reads an array into *v as encoding/json does: null makes it
// nil, [] an empty slice that is not nil.
func readSlice[T any](s *scanner, v *[]T) error {
	out := (*v)[:0]
	if out == nil {
		out = []T{}
	}
	ok, err := s.array(func() error {
		var it T
		if err := decodeValue(s, &it); err != nil {
			return err
		}
		out = append(out, it)
		return nil
	})
	switch {
	case err != nil:
		return err
	case ok:
		*v = out
	default:
		*v = nil // null (or a value of the wrong kind, which fails the answer)
	}
	return nil
}
